import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type ActionSpec, runAction } from "../../core/action.ts";
import { ClubError } from "../../core/errors.ts";
import { NO_DB, READ } from "../../http/declarations.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import { listVisibleEventSummaries } from "../events/events.repository.ts";
import { fileOfBlock } from "./page-content.ts";
import { fileOfRevision } from "./page-files.repository.ts";
import { sendPageFile } from "./page-files.routes.tsx";
import { PAGE_ERRORS } from "./pages.errors.ts";
import { previewUnavailable } from "./pages.policies.ts";
import {
  blocksOfRevision,
  draftOf,
  findPage,
  findRevision,
  latestFrozen,
  type RevisionRow,
  revisionNumbered,
} from "./pages.repository.ts";
import {
  PREVIEW_FILE_PARAMS,
  PREVIEW_LINK_FILE_PARAMS,
  PREVIEW_TOKEN_PARAMS,
  REVISION_PARAMS,
} from "./pages.schemas.ts";
import { PREVIEW_LINK_ACTOR, viewPreviewFileThroughLink, viewPreviewThroughLink } from "./preview.actions.ts";
import { PreviewErrorView, PreviewView, renderPreviewBlocks } from "./preview.views.tsx";

/* Previews live under /preview/ only, never as a flag on a public route, and the public routes read only
 * the current published revision (pages.routes.tsx), so no way of asking the site shows a draft.
 * Every /preview/ response, errors included, carries noindex, no-store and no-referrer (installed for the
 * whole path in src/http/headers.ts). The preview kill switch (preview_off) is declared on each route;
 * a preview that cannot be shown is an error page, never the published page instead. A preview's images
 * and files are served under the same path as the preview itself, through the same check (the editor's
 * capability, or the share link), and only from the revision previewed: never the published page's
 * files, never /admin/ (a reviewer has no account; an editor with pages:preview only may lack
 * pages:edit). */

/** Previews serve in read-only mode and stop when previews are switched off. */
const PREVIEW = { ...READ, frozenBy: "preview_off" } as const;

/** The events an event-list block shows (or the error reading them, reported to the editor). */
/** Runs a share-link action; any refusal (expired, revoked, switched off, unknown) is undefined, for the
 * one "not available" page: never published content, never a hint which it was. */
async function throughLink<I, O>(
  request: FastifyRequest,
  spec: ActionSpec<I, O>,
  input: I,
): Promise<O | undefined> {
  try {
    return await runAction(request.server.ctx.actionEnv(PREVIEW_LINK_ACTOR, request.id), spec, input);
  } catch (error) {
    if (error instanceof ClubError && error.status < 500) return undefined;
    throw error;
  }
}

async function upcoming(request: FastifyRequest, membersToo: boolean) {
  try {
    const rows = await listVisibleEventSummaries(request.server.ctx.database.db, membersToo);
    return rows.filter((e) => e.status === "published" && new Date(e.starts_at).getTime() >= Date.now());
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function previewError(request: FastifyRequest, reply: FastifyReply, error: ClubError) {
  return sendPage(
    request,
    reply,
    "Preview not available",
    <PreviewErrorView message={error.message} />,
    error.status,
  );
}

/** An editor's preview of one revision, with what keeps any block from rendering. */
async function editorPreview(
  request: FastifyRequest,
  reply: FastifyReply,
  pageId: string,
  revision: RevisionRow | undefined,
) {
  if (!revision) return previewError(request, reply, previewUnavailable());
  const blocks = await blocksOfRevision(request.server.ctx.database.db, revision.id);
  const events = blocks.some((b) => b.type === "event_list") ? await upcoming(request, true) : [];
  const { html, failures } = renderPreviewBlocks(
    blocks,
    events,
    request.server.ctx.config.timeZone,
    `/preview/pages/${pageId}/revisions/${revision.number}/files/`,
  );
  return sendPage(
    request,
    reply,
    `Preview: ${revision.title}`,
    <PreviewView
      title={revision.title}
      revision={revision.number}
      audience={revision.audience}
      frozen={revision.frozen}
      html={html}
      failures={failures}
      editorHref={`/admin/pages/${pageId}`}
    />,
  );
}

/** The preview routes and robots.txt. */
export function previewRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/robots.txt",
    capability: "public",
    loadClass: "public",
    response: "text",
    degraded: NO_DB,
    summary: "Rules for search engines: previews are never to be crawled",
    handler: async (_request, reply) =>
      reply
        .header("cache-control", "public, max-age=3600")
        .type("text/plain; charset=utf-8")
        .send("User-agent: *\nDisallow: /preview/\nDisallow: /admin/\n"),
  });

  declareRoute(app, {
    method: "GET",
    url: "/preview/pages/:id",
    capability: "pages:preview",
    loadClass: "admin",
    response: "html",
    degraded: PREVIEW,
    summary: "Preview a page's draft (or, without one, its latest revision) as it would look",
    schema: { params: ID_PARAMS },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const page = await findPage(db, request.params.id);
      if (!page) return previewError(request, reply, previewUnavailable());
      const revision =
        (await draftOf(db, page.id)) ??
        (page.current_published_revision_id
          ? await findRevision(db, page.id, page.current_published_revision_id)
          : await latestFrozen(db, page.id));
      return editorPreview(request, reply, page.id, revision);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/preview/pages/:id/revisions/:number",
    capability: "pages:preview",
    loadClass: "admin",
    response: "html",
    degraded: PREVIEW,
    summary: "Preview any revision of a page as it would look",
    schema: { params: REVISION_PARAMS },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const page = await findPage(db, request.params.id);
      const revision = page ? await revisionNumbered(db, page.id, Number(request.params.number)) : undefined;
      return editorPreview(request, reply, request.params.id, revision);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/preview/link/:token",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: PREVIEW,
    summary:
      "A shared preview of one revision, for a reviewer without an account (expiring, revocable, audited)",
    schema: { params: PREVIEW_TOKEN_PARAMS },
    handler: async (request, reply) => {
      const ctx = request.server.ctx;
      const shown = await throughLink(request, viewPreviewThroughLink, { token: request.params.token });
      if (!shown) return previewError(request, reply, previewUnavailable());
      const { revision, blocks } = shown;
      const events = blocks.some((b) => b.type === "event_list") ? await upcoming(request, false) : [];
      // The images and files come through the same link (viewPreviewFileThroughLink).
      const { html, failures } = renderPreviewBlocks(
        blocks,
        events,
        ctx.config.timeZone,
        `/preview/link/${request.params.token}/files/`,
      );
      // A reviewer sees the page whole or not at all; what failed is for the editor's own preview.
      if (failures.length)
        return previewError(
          request,
          reply,
          PAGE_ERRORS.preview_unavailable(
            "This preview cannot be shown whole: part of the page has an error. Ask the person who sent the link to correct it and send a new one.",
          ),
        );
      return sendPage(
        request,
        reply,
        `Preview: ${revision.title}`,
        <PreviewView
          title={revision.title}
          revision={revision.number}
          audience={revision.audience}
          frozen={revision.frozen}
          html={html}
          failures={[]}
        />,
      );
    },
  });
  declareRoute(app, {
    method: "GET",
    url: "/preview/pages/:id/revisions/:number/files/:hash",
    capability: "pages:preview",
    loadClass: "admin",
    response: "html",
    degraded: PREVIEW,
    summary: "A file or image of one revision, as that revision's preview shows it",
    schema: { params: PREVIEW_FILE_PARAMS },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const { id, number, hash } = request.params;
      const page = await findPage(db, id);
      const revision = page ? await revisionNumbered(db, page.id, Number(number)) : undefined;
      // Only a file a block of this revision shows: the preview serves what it would publish.
      const shown =
        revision && (await blocksOfRevision(db, revision.id)).some((b) => fileOfBlock(b) === hash);
      const file = shown ? await fileOfRevision(db, revision.id, hash) : undefined;
      if (!file) return previewError(request, reply, previewUnavailable());
      return sendPageFile(request, reply, file, false);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/preview/link/:token/files/:hash",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: PREVIEW,
    summary:
      "A file or image of the revision a share link shows, for the reviewer holding the link (audited)",
    schema: { params: PREVIEW_LINK_FILE_PARAMS },
    handler: async (request, reply) => {
      const file = await throughLink(request, viewPreviewFileThroughLink, {
        token: request.params.token,
        sha256: request.params.hash,
      });
      if (!file) return previewError(request, reply, previewUnavailable());
      return sendPageFile(request, reply, file, false);
    },
  });
}
