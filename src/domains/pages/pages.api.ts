import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { dateOnly, iso } from "../../http/present.ts";
import { declareRoute } from "../../http/routes.ts";
import { audienceAllows, isPublicRule } from "./audience.ts";
import { summaryFor } from "./pages.feeds.routes.tsx";
import { presentPage } from "./pages.presenters.ts";
import {
  allPublishedPages,
  findPublishedPage,
  publishedNewsWithBlocks,
  viewerOf,
} from "./pages.repository.ts";
import {
  cacheHeaders,
  privateUntilShown,
  sameForEveryone,
  unrenderable,
  visibleContent,
} from "./pages.routes.tsx";
import { NewsListOut, PageListOut, PageOut, SLUG_PARAMS } from "./pages.schemas.ts";

/* The published site as JSON (G08): the same pages, blocks and audience decisions as the HTML routes, for
 * apps and scripts. A page the viewer may not see answers exactly as one that does not exist (the same
 * 404 body), a block they may not see is left out before anything is presented, and only what everyone
 * gets alike may be kept by shared caches. */

/** Sends a JSON body with the published-content cache headers; 304 when the asker already has it. The
 * ETag is taken of the presented body, which the response schema serialises unchanged. */
function sendJson<T>(request: FastifyRequest, reply: FastifyReply, body: T, shared: boolean) {
  if (cacheHeaders(request, reply, JSON.stringify(body), shared)) return reply.code(304).send();
  return body;
}

/** The pages JSON API. */
export function pageApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/api/v1/pages",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: READ,
    summary:
      "Published pages the asker may see: slug, title, summary and when the shown revision was published",
    schema: { response: { 200: PageListOut } },
    handler: async (request, reply) => {
      privateUntilShown(reply);
      const db = request.server.ctx.database.db;
      const [all, viewer] = await Promise.all([allPublishedPages(db), viewerOf(db, request.auth.actor)]);
      const pages = all
        .filter((p) => audienceAllows(p.audience, viewer))
        .map((p) => ({
          slug: p.slug,
          kind: p.kind === "news" ? ("news" as const) : ("page" as const),
          title: p.title,
          summary: summaryFor(p, viewer),
          updated: iso(p.published_at!),
        }));
      // A summary built from blocks differs by viewer too, so only an all-public site is shared.
      const shared = viewer.kind === "anonymous" && all.every((p) => sameForEveryone(p, viewer));
      return sendJson(request, reply, { pages }, shared);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/pages/:slug",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: READ,
    summary:
      "A published page with the blocks the asker may see (404 for anyone its audience does not admit, as for no page)",
    schema: { params: SLUG_PARAMS, response: { 200: PageOut } },
    handler: async (request, reply) => {
      privateUntilShown(reply);
      const db = request.server.ctx.database.db;
      const [page, viewer] = await Promise.all([
        findPublishedPage(db, request.params.slug),
        viewerOf(db, request.auth.actor),
      ]);
      if (!page) throw notFound();
      const { blocks, events } = await visibleContent(request, page, viewer);
      let body: PageOut;
      try {
        body = presentPage(page, summaryFor({ summary: page.summary, blocks }, viewer), blocks, events);
      } catch (error) {
        throw unrenderable(request, page, error);
      }
      return sendJson(request, reply, body, sameForEveryone(page, viewer));
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/news",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: READ,
    summary: "News posts the asker may see, newest first",
    schema: { response: { 200: NewsListOut } },
    handler: async (request, reply) => {
      privateUntilShown(reply);
      const db = request.server.ctx.database.db;
      const [all, viewer] = await Promise.all([
        publishedNewsWithBlocks(db),
        viewerOf(db, request.auth.actor),
      ]);
      const posts = all
        .filter((p) => audienceAllows(p.audience, viewer))
        .map((p) => ({
          slug: p.slug,
          title: p.title,
          summary: summaryFor(p, viewer),
          publishedOn: dateOnly(p.published_on),
          updated: iso(p.published_at!),
        }));
      const shared =
        viewer.kind === "anonymous" &&
        all.every((p) => isPublicRule(p.audience) && sameForEveryone(p, viewer));
      return sendJson(request, reply, { posts }, shared);
    },
  });
}
