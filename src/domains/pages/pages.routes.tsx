import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { contentVersionsOf } from "../../http/content-versions.ts";
import type { HttpContext } from "../../http/context.ts";
import { READ } from "../../http/declarations.ts";
import { actorFrameKey } from "../../http/layout.tsx";
import { pageContext, pageHtml, type SiteLink } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { seesMembersOnlyEvents } from "../events/events.policies.ts";
import { listVisibleEventSummaries } from "../events/events.repository.ts";
import { audienceAllows, blockAllows, blockIsRestricted, isPublicRule, type Viewer } from "./audience.ts";
import { blockIsValid } from "./page-content.ts";
import { contentIsKeepable, contentKey, PageRenderCache, type WholeResponse } from "./page-render-cache.ts";
import {
  type NavigationRow,
  navigationWithKey,
  type PublishedPageState,
  publishedPageState,
} from "./page-serving.repository.ts";
import {
  blocksOfRevision,
  navigationPages,
  type PublishedPage,
  publishedNews,
  viewerOf,
  viewerRead,
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
/** What a published-content answer varies with: who asks. */
const VARY = "Cookie, Authorization";
const HTML = "text/html; charset=utf-8";

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

/** Sets the cache headers of a published-content response: public with an ETag of its bytes when
 * every viewer would get these very bytes, else private. True when the asker's If-None-Match already
 * names these bytes: answer 304. */
export function cacheHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  bytes: string | Buffer,
  shared: boolean,
) {
  if (!shared) {
    reply.header("cache-control", PRIVATE);
    return false;
  }
  return sharedHeaders(request, reply, etagOf(bytes));
}

/** The ETag of bytes every viewer gets alike. */
function etagOf(bytes: string | Buffer): string {
  return `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`;
}

/** Sets the headers of bytes every viewer gets alike with their (known) ETag; true when the asker's
 * If-None-Match already names them. */
function sharedHeaders(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header("cache-control", PUBLIC_CACHE).header("etag", etag);
  return request.headers["if-none-match"] === etag;
}

/** Sends public HTML with its cache headers (cacheHeaders); a matching If-None-Match gets 304. */
export function sendCacheable(
  request: FastifyRequest,
  reply: FastifyReply,
  html: string | Buffer,
  shared: boolean,
  type = HTML,
) {
  if (cacheHeaders(request, reply, html, shared)) return reply.code(304).send();
  return reply.type(type).send(html);
}

/** What of a published page this viewer is given: the blocks they may see, checked to render, and the
 * upcoming events an event-list block lists; throws 404 when the page is hidden from them or cannot be
 * shown whole (a failing block never gives a 500 or half a page). The one step every surface that shows a
 * page's content takes (this HTML route, the JSON API). */
export async function visibleContent(request: FastifyRequest, page: PublishedPage, viewer: Viewer) {
  if (!audienceAllows(page.audience, viewer)) throw notFound();
  const blocks = page.blocks.filter((b) => blockAllows(b, viewer));
  try {
    for (const block of blocks)
      if (!blockIsValid(block)) throw new Error(`block ${block.position} (${block.type}) cannot be rendered`);
    const events = blocks.some((b) => b.type === "event_list")
      ? (
          await listVisibleEventSummaries(
            request.server.ctx.database.db,
            seesMembersOnlyEvents(request.auth.actor),
          )
        ).filter((e) => e.status === "published" && new Date(e.starts_at).getTime() >= Date.now())
      : [];
    return { blocks, events };
  } catch (error) {
    throw unrenderable(request, page, error);
  }
}

/** Logs why a published page cannot be shown and gives the 404 it answers with. */
export function unrenderable(request: FastifyRequest, page: PublishedPage, error: unknown) {
  request.log.warn(
    { err: error, pageId: page.id, revision: page.number },
    "published page could not be rendered",
  );
  return notFound();
}

/** Renders a published page for this viewer as HTML, or throws 404 as visibleContent does. Content
 * without live data (no event list) is kept in the render cache by revision and exactly the blocks
 * rendered: renderPageContent is given no viewer, so those decide its bytes. */
async function renderFor(
  request: FastifyRequest,
  cache: PageRenderCache,
  page: PublishedPageState & PublishedPage,
  viewer: Viewer,
) {
  const { blocks, events } = await visibleContent(request, page, viewer);
  const keepable = contentIsKeepable(blocks);
  const key = contentKey(page, blocks);
  const kept = keepable ? cache.content.get(key) : undefined;
  if (kept !== undefined) return { content: kept, blocks };
  try {
    const content = renderPageContent(page, blocks, events, request.server.ctx.config.timeZone);
    if (keepable) cache.content.set(key, content);
    return { content, blocks };
  } catch (error) {
    throw unrenderable(request, page, error);
  }
}

/** Whether the same bytes go to everyone: a public page with no restricted block, asked anonymously. */
export function sameForEveryone(
  page: { audience: unknown; blocks: { type: string; audience: unknown }[] },
  viewer: Viewer,
): boolean {
  return viewer.kind === "anonymous" && isPublicRule(page.audience) && !page.blocks.some(blockIsRestricted);
}

/** Until a response is known to be the same for everyone it is private, its 404s included: a hidden
 * page's 404 and a missing page's carry the same headers too. */
export function privateUntilShown(reply: FastifyReply): void {
  reply.header("vary", VARY).header("cache-control", PRIVATE);
}

/** What a page request reads first: the page's current state and the viewer, once per request. */
interface PageRead {
  state: PublishedPageState | undefined;
  viewer: Viewer;
}

/** Both through the render cache at the content versions this request read (after it arrived): what
 * the database says now, read from the database only when it changed. */
async function readPage(request: FastifyRequest, cache: PageRenderCache, slug: string): Promise<PageRead> {
  const db = request.server.ctx.database.db;
  const actor = request.auth.actor;
  const versions = await contentVersionsOf(request);
  const [state, viewer] = await Promise.all([
    cache.stateOf(versions.site, slug, () => publishedPageState(db, slug)),
    cache.viewerOf(versions, actor, () => viewerRead(db, actor)),
  ]);
  return { state, viewer };
}

/** Serves the page read (true: sent; the reply itself is not returned, as awaiting it would wait for
 * the response to finish and give undefined), or false when there is none; 404 when its audience does not admit the
 * viewer. The audience is decided (visibleContent) before any rendered bytes are looked up: a
 * cache only ever gives this viewer what their own decisions admitted. */
async function servePage(
  request: FastifyRequest,
  reply: FastifyReply,
  cache: PageRenderCache,
  { state, viewer }: PageRead,
  notice?: string,
) {
  privateUntilShown(reply);
  if (!state) return false;
  if (!audienceAllows(state.audience, viewer)) throw notFound();
  const db = request.server.ctx.database.db;
  const page = {
    ...state,
    blocks: await cache.blocksOf(state, () => blocksOfRevision(db, state.revision_id)),
  };
  const shared = sameForEveryone(page, viewer) && !notice;
  // A whole response is kept only for a request with no credentials at all: the layout then shows
  // nobody's name and no form token, so every such request gets these bytes.
  const keepWhole =
    shared &&
    request.auth.actor.type === "anonymous" &&
    !request.auth.sessionToken &&
    contentIsKeepable(page.blocks);
  const system = request.server.ctx.modes.current();
  const whole = keepWhole ? cache.publicResponse(state, system) : undefined;
  if (whole) {
    sendWhole(request, reply, whole);
    return true;
  }
  // A session's own whole response: made for this very state, viewer facts, system state and frame (its
  // form token is the session's), given to no other session.
  const session = request.auth.sessionId;
  const keepForSession = !shared && session !== undefined && !notice && contentIsKeepable(page.blocks);
  const made = keepForSession
    ? { state, viewer, system, frame: actorFrameKey(request.auth.actor) }
    : undefined;
  const mine = made ? cache.sessionResponse(session!, made) : undefined;
  if (mine) {
    sendCacheable(request, reply, mine.bytes, false);
    return true;
  }
  const { content } = await renderFor(request, cache, page, viewer);
  const navigation = await cache.navigationFor(state.nav_key, () => navigationWithKey(db));
  const html = pageHtml(request, state.title, <RenderedContent html={content} notice={notice} />, {
    siteLinks: siteLinksFrom(navigation, viewer),
    description: state.summary || undefined,
  });
  // `made` only for a response that is not shared (keepForSession).
  if (made) cache.keepSessionResponse(session!, made, html);
  if (keepWhole) sendWhole(request, reply, keepPublic(cache, state, system, html));
  else sendCacheable(request, reply, html, shared);
  return true;
}

/** Keeps the anonymous response of a page every viewer gets alike, with the headers sendWhole sends
 * (which the front sends too). */
function keepPublic(cache: PageRenderCache, state: PublishedPageState, system: unknown, html: string) {
  const etag = etagOf(html);
  const headers = ["vary", VARY, "cache-control", PUBLIC_CACHE, "etag", etag, "content-type", HTML];
  return cache.keepPublicResponse(state, system, html, etag, headers);
}

/** Sends a kept anonymous response with the headers it was first sent with (WholeResponse's); 304 when
 * the asker's If-None-Match names it. */
function sendWhole(request: FastifyRequest, reply: FastifyReply, whole: WholeResponse): void {
  privateUntilShown(reply);
  if (sharedHeaders(request, reply, whole.etag)) reply.code(304).send();
  else reply.type(HTML).send(whole.bytes);
}

/** The kept anonymous response of this page, for the front (a route's `kept`): only when the page's
 * state at the content versions read now (after the request arrived) is the very state object the
 * response was made from, and the system state is as it was; nothing is read here but the versions, so
 * a page not kept takes the full path. */
async function keptPublic(ctx: HttpContext, cache: PageRenderCache, slug: string) {
  const versions = await ctx.contentVersions.get();
  const state = cache.keptState(versions.site, slug);
  return state && cache.publicResponse(state, ctx.modes.current());
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
    kept: () => keptPublic(app.ctx, cache, HOME_SLUG),
    handler: async (request, reply) => {
      const notice = request.query.changed === "password" ? PASSWORD_CHANGED : undefined;
      const read = await readPage(request, cache, HOME_SLUG);
      const { state: home, viewer } = read;
      if (
        home &&
        audienceAllows(home.audience, viewer) &&
        (await servePage(request, reply, cache, read, notice))
      )
        return reply;
      const html = pageHtml(
        request,
        "Home",
        <>
          {notice ? <p class="notice">{notice}</p> : null}
          <WelcomeView page={pageContext(request)} clubName={request.server.ctx.config.clubName} />
        </>,
        { siteLinks: await siteLinksFor(request, viewer) },
      );
      return reply.type(HTML).send(html);
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
    kept: (params) => keptPublic(app.ctx, cache, params.slug!),
    handler: async (request, reply) => {
      const sent = await servePage(
        request,
        reply,
        cache,
        await readPage(request, cache, request.params.slug),
      );
      if (!sent) throw notFound();
      return reply;
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
