import type { FastifyInstance, FastifyRequest } from "fastify";
import { READ } from "../../http/declarations.ts";
import { pageHtml } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import {
  ANONYMOUS,
  audienceAllows,
  blockAllows,
  blockIsRestricted,
  isPublicRule,
  type Viewer,
} from "./audience.ts";
import { blockText, clip } from "./page-content.ts";
import {
  type BlockRow,
  publishedNewsWithBlocks,
  publishedPageList,
  searchPublished,
  viewerOf,
} from "./pages.repository.ts";
import { HOME_SLUG, privateUntilShown, sendCacheable, siteLinksFor } from "./pages.routes.tsx";
import { SearchQuery } from "./pages.schemas.ts";
import { SearchView } from "./pages.search.views.tsx";

/* The site's other ways in: the Atom feed of news, sitemap.xml and site search. Each decides with the one
 * audience evaluator (audience.ts) before anything is written: a page the viewer may not see is not
 * listed, a block they may not see is neither matched nor quoted, and a summary is built only from what
 * they may see. */

const xml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );

/** A page's address on the public site. */
const pathOf = (slug: string) => (slug === HOME_SLUG ? "/" : `/p/${slug}`);

/** What a listing says of a page: its summary, or else the start of the blocks this viewer may see. */
export function summaryFor(page: { summary: string; blocks: BlockRow[] }, viewer: Viewer): string {
  if (page.summary.trim()) return page.summary;
  return clip(
    page.blocks
      .filter((b) => blockAllows(b, viewer))
      .map(blockText)
      .join(" "),
    300,
  );
}

/** The Atom feed document. */
function atom(
  base: string,
  clubName: string,
  entries: { slug: string; title: string; summary: string; updated: Date; id: string }[],
): string {
  const updated = new Date(entries.reduce((max, e) => Math.max(max, e.updated.getTime()), 0));
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<title>${xml(`${clubName} news`)}</title>`,
    `<id>${xml(`${base}/news`)}</id>`,
    `<link rel="self" href="${xml(`${base}/news.atom`)}"/>`,
    `<link href="${xml(`${base}/news`)}"/>`,
    `<updated>${updated.toISOString()}</updated>`,
    ...entries.map((e) =>
      [
        "<entry>",
        `<title>${xml(e.title)}</title>`,
        `<id>urn:uuid:${e.id}</id>`,
        `<link href="${xml(base + pathOf(e.slug))}"/>`,
        `<updated>${e.updated.toISOString()}</updated>`,
        `<author><name>${xml(clubName)}</name></author>`,
        e.summary ? `<summary>${xml(e.summary)}</summary>` : "",
        "</entry>",
      ].join(""),
    ),
    "</feed>",
    "",
  ].join("\n");
}

const baseOf = (request: FastifyRequest) => request.server.ctx.config.publicUrl.replace(/\/+$/, "");

/** The feed, sitemap and search routes. */
export function pageFeedRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/news.atom",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "Atom feed of the news posts the reader may see (anonymous readers: public news only)",
    handler: async (request, reply) => {
      privateUntilShown(reply);
      const db = request.server.ctx.database.db;
      const [all, viewer] = await Promise.all([
        publishedNewsWithBlocks(db),
        viewerOf(db, request.auth.actor),
      ]);
      const posts = all.filter((p) => audienceAllows(p.audience, viewer));
      const body = atom(
        baseOf(request),
        request.server.ctx.config.clubName,
        posts.map((p) => ({
          id: p.id,
          slug: p.slug,
          title: p.title,
          summary: summaryFor(p, viewer),
          updated: new Date(p.published_at ?? 0),
        })),
      );
      // The same bytes go to every reader only when nothing in the news is restricted (R-6).
      const shared =
        viewer.kind === "anonymous" &&
        all.every((p) => isPublicRule(p.audience) && !p.blocks.some(blockIsRestricted));
      return sendCacheable(request, reply, body, shared, "application/atom+xml; charset=utf-8");
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/sitemap.xml",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "sitemap.xml: the published pages everyone may see, and nothing else",
    handler: async (request, reply) => {
      const pages = (await publishedPageList(request.server.ctx.database.db)).filter((p) =>
        audienceAllows(p.audience, ANONYMOUS),
      );
      const base = baseOf(request);
      const urls = [
        ...pages.map(
          (p) =>
            `<url><loc>${xml(base + pathOf(p.slug))}</loc>${
              p.published_at ? `<lastmod>${new Date(p.published_at).toISOString()}</lastmod>` : ""
            }</url>`,
        ),
        `<url><loc>${xml(`${base}/news`)}</loc></url>`,
      ];
      const body = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
        ...urls,
        "</urlset>",
        "",
      ].join("\n");
      // Public pages only, whoever asks: the same bytes for everyone.
      return sendCacheable(request, reply, body, true, "application/xml; charset=utf-8");
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/search",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "Site search over the published pages the visitor may see (hidden blocks never match)",
    schema: { querystring: SearchQuery },
    handler: async (request, reply) => {
      privateUntilShown(reply);
      const db = request.server.ctx.database.db;
      const words = (request.query.q ?? "").trim();
      const viewer = await viewerOf(db, request.auth.actor);
      const hits = words ? await searchPublished(db, words) : [];
      const results = hits
        .filter((h) => audienceAllows(h.audience, viewer))
        .map((h) => ({ ...h, blocks: h.blocks.filter((b) => blockAllows(b, viewer)) }))
        // A page matched only by blocks this viewer may not see is no hit for them.
        .filter((h) => h.title_match || h.blocks.some((b) => h.matched_blocks.has(b.id)))
        .slice(0, 50)
        .map((h) => ({
          href: pathOf(h.slug),
          title: h.title,
          summary: summaryFor(h, viewer),
        }));
      const html = pageHtml(
        request,
        words ? `Search: ${words}` : "Search",
        <SearchView words={words} results={results} />,
        {
          siteLinks: await siteLinksFor(request, viewer),
        },
      );
      return sendCacheable(request, reply, html, false);
    },
  });
}
