import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, pageHtml, type SiteLink } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { listVisibleEventSummaries } from "../events/events.repository.ts";
import { audienceAllows, blockAllows, blockIsRestricted, isPublicRule, type Viewer } from "./audience.ts";
import { contentIsKeepable, contentKey, PageRenderCache } from "./page-render-cache.ts";
import {
  type NavigationRow,
  navigationWithKey,
  type PublishedPageState,
  publishedPageState,
} from "./page-serving.repository.ts";
import {
  type BlockRow,
  blocksOfRevision,
  navigationPages,
  type PublishedPage,
  publishedNews,
  viewerOf,
} from "./pages.repository.ts";
import { HomeQuery, SLUG_PARAMS } from "./pages.schemas.ts";
import {
  NewsList,
  PASSWORD_CHANGED,
  RenderedContent,
  renderPageContent,
  WelcomeView,
} from "./pages.views.tsx";

/* The published site: the home page, every published page at /p/<slug>, and the news. Who asks is read
 * once per request (viewerOf) and every audience is decided on the server before anything is rendered
 * a page the viewer may not see is answered exactly as a page that does not exist, a
 * block they may not see is left out entirely, and the navigation lists only what they may open. */

/** The slug of the page shown at /. */
export const HOME_SLUG = "home";

/** How long a shared cache may keep a public page: short, as unpublishing must take effect. */
export const PUBLIC_CACHE = "public, max-age=60";
export const PRIVATE = "private, no-store";

/** The header links of the site's pages this viewer may see: top-level pages in menu order, each
 * followed by its children; a child whose parent is hidden stands on its own. */
export async function siteLinksFor(request: FastifyRequest, viewer: Viewer): Promise<SiteLink[]> {
  return siteLinksFrom(await navigationPages(request.server.ctx.database.db), viewer);
}

/** The header links from the navigation's rows, for this viewer (their audiences decided here). */
function siteLinksFrom(rows: readonly NavigationRow[], viewer: Viewer): SiteLink[] {
  const pages = rows.filter((p) => p.slug !== HOME_SLUG && audienceAllows(p.audience, viewer));
  const shown = new Set(pages.map((p) => p.id));
  const link = (p: (typeof pages)[number], child: boolean): SiteLink => ({
    href: `/p/${p.slug}`,
    label: p.title,
    child,
  });
  const out: SiteLink[] = [];
  for (const p of pages) {
    if (p.nav_parent_id && shown.has(p.nav_parent_id)) continue;
    out.push(link(p, false));
    for (const c of pages) if (c.nav_parent_id === p.id) out.push(link(c, true));
  }
  out.push({ href: "/news", label: "News" });
  out.push({ href: "/search", label: "Search" });
  return out;
}

/** The ETag of a body every viewer gets alike. */
function etagOf(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

/** Sends a body every viewer gets alike with its ETag; a matching If-None-Match gets 304. */
function sendShared(
  request: FastifyRequest,
  reply: FastifyReply,
  body: string,
  etag: string,
  type = "text/html; charset=utf-8",
) {
  reply.header("cache-control", PUBLIC_CACHE).header("etag", etag);
  if (request.headers["if-none-match"] === etag) return reply.code(304).send();
  return reply.type(type).send(body);
}

/** Sends public HTML: kept by shared caches with an ETag when every viewer would get these very bytes
 * else private. A matching If-None-Match gets 304. */
export function sendCacheable(
  request: FastifyRequest,
  reply: FastifyReply,
  html: string,
  shared: boolean,
  type = "text/html; charset=utf-8",
) {
  if (!shared) return reply.header("cache-control", PRIVATE).type(type).send(html);
  return sendShared(request, reply, html, etagOf(html), type);
}

/** Renders the blocks this viewer's audience decisions admitted (the caller made them), or throws 404
 * when it cannot be rendered whole (a failing block never gives a 500 or half a page). Content without
 * live data comes from the render cache: it depends on the revision and these blocks only. */
async function renderShown(
  request: FastifyRequest,
  cache: PageRenderCache,
  page: PublishedPageState,
  shown: BlockRow[],
  viewer: Viewer,
) {
  const keepable = contentIsKeepable(shown);
  const key = contentKey(page, shown);
  const kept = keepable ? cache.content.get(key) : undefined;
  if (kept !== undefined) return kept;
  try {
    const events = shown.some((b) => b.type === "event_list")
      ? (await listVisibleEventSummaries(request.server.ctx.database.db, viewer.kind === "member")).filter(
          (e) => e.status === "published" && new Date(e.starts_at).getTime() >= Date.now(),
        )
      : [];
    const content = renderPageContent(page, shown, events, request.server.ctx.config.timeZone);
    if (keepable) cache.content.set(key, content);
    return content;
  } catch (error) {
    request.log.warn(
      { err: error, pageId: page.id, revision: page.number },
      "published page could not be rendered",
    );
    throw notFound();
  }
}

/** Whether the same bytes go to everyone: a public page with no restricted block, asked anonymously. */
function sameForEveryone(page: Pick<PublishedPage, "audience" | "blocks">, viewer: Viewer): boolean {
  return viewer.kind === "anonymous" && isPublicRule(page.audience) && !page.blocks.some(blockIsRestricted);
}

/** Until a response is known to be the same for everyone it is private, its 404s included: a hidden
 * page's 404 and a missing page's carry the same headers too. */
export function privateUntilShown(reply: FastifyReply): void {
  reply.header("vary", "Cookie, Authorization").header("cache-control", PRIVATE);
}

/** What a page request reads first: the page's current state and the viewer, once per request. */
interface PageRead {
  state: PublishedPageState | undefined;
  viewer: Viewer;
}

async function readPage(request: FastifyRequest, slug: string): Promise<PageRead> {
  const db = request.server.ctx.database.db;
  const [state, viewer] = await Promise.all([publishedPageState(db, slug), viewerOf(db, request.auth.actor)]);
  return { state, viewer };
}

/** Serves the page read, or undefined when there is none; 404 when its audience does not admit the
 * viewer. The audience is decided before any cache is asked: a cache only ever gives this
 * viewer what their own decision admitted. */
async function servePage(
  request: FastifyRequest,
  reply: FastifyReply,
  cache: PageRenderCache,
  { state, viewer }: PageRead,
  notice?: string,
) {
  privateUntilShown(reply);
  if (!state) return undefined;
  if (!audienceAllows(state.audience, viewer)) throw notFound();
  const db = request.server.ctx.database.db;
  const blocks = await cache.blocksOf(state, () => blocksOfRevision(db, state.revision_id));
  const shown = blocks.filter((b) => blockAllows(b, viewer));
  const shared = sameForEveryone({ audience: state.audience, blocks }, viewer) && !notice;
  // A whole response is kept only for a request with no credentials at all: the layout then shows
  // nobody's name and no form token, so every such request gets these bytes.
  const wholeKey =
    shared &&
    request.auth.actor.type === "anonymous" &&
    !request.auth.sessionToken &&
    contentIsKeepable(shown)
      ? `${contentKey(state, shown)}#${state.nav_key}#${JSON.stringify(request.server.ctx.modes.current())}`
      : undefined;
  const whole = wholeKey ? cache.publicResponses.get(wholeKey) : undefined;
  if (whole) return sendShared(request, reply, whole.html, whole.etag);
  const content = await renderShown(request, cache, state, shown, viewer);
  const navigation = await cache.navigationFor(state.nav_key, () => navigationWithKey(db));
  const html = pageHtml(request, state.title, <RenderedContent html={content} notice={notice} />, {
    siteLinks: siteLinksFrom(navigation, viewer),
    description: state.summary || undefined,
  });
  if (!shared) return sendCacheable(request, reply, html, false);
  const etag = etagOf(html);
  if (wholeKey) cache.publicResponses.set(wholeKey, { html, etag });
  return sendShared(request, reply, html, etag);
}

/** The public site's routes. */
export function pageRoutes(app: FastifyInstance): void {
  const cache = new PageRenderCache();
  declareRoute(app, {
    method: "GET",
    url: "/",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "Home page: the published page 'home', or a welcome while there is none",
    schema: { querystring: HomeQuery },
    handler: async (request, reply) => {
      const notice = request.query.changed === "password" ? PASSWORD_CHANGED : undefined;
      const read = await readPage(request, HOME_SLUG);
      const { state: home, viewer } = read;
      if (home && audienceAllows(home.audience, viewer))
        return servePage(request, reply, cache, read, notice);
      const html = pageHtml(
        request,
        "Home",
        <>
          {notice ? <p class="notice">{notice}</p> : null}
          <WelcomeView page={pageContext(request)} clubName={request.server.ctx.config.clubName} />
        </>,
        { siteLinks: await siteLinksFor(request, viewer) },
      );
      return reply.type("text/html; charset=utf-8").send(html);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/p/:slug",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "A published page, for those its audience admits (404 for anyone else, as for no page)",
    schema: { params: SLUG_PARAMS },
    handler: async (request, reply) => {
      const sent = await servePage(request, reply, cache, await readPage(request, request.params.slug));
      if (!sent) throw notFound();
      return sent;
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/news",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "News posts the visitor may see, newest first",
    handler: async (request, reply) => {
      privateUntilShown(reply);
      const db = request.server.ctx.database.db;
      const [all, viewer] = await Promise.all([publishedNews(db), viewerOf(db, request.auth.actor)]);
      const posts = all.filter((p) => audienceAllows(p.audience, viewer));
      const html = pageHtml(request, "News", <NewsList posts={posts} />, {
        siteLinks: await siteLinksFor(request, viewer),
      });
      const shared = viewer.kind === "anonymous" && all.every((p) => isPublicRule(p.audience));
      return sendCacheable(request, reply, html, shared);
    },
  });
}
