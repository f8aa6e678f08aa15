import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { audienceAllows, blockAllows, blockIsRestricted, isPublicRule } from "./audience.ts";
import { fileOfBlock } from "./page-content.ts";
import { contentDisposition, shownInline } from "./page-file-types.ts";
import { fileOfRevision, pageHasFile } from "./page-files.repository.ts";
import { fileTooLarge, uploadPageFile } from "./pages.actions.ts";
import { findPage, findPublishedPage, viewerOf } from "./pages.repository.ts";
import { ADMIN_FILE_PARAMS, FILE_PARAMS, type UploadedFile, UploadForm } from "./pages.schemas.ts";

/* The files and images of pages. They are served by ClubOS, never as static files: a published page's
 * file is found through the page's current published revision and a block of it that shows the file,
 * after the same audience decision as the page and that block, so a file the viewer may not see is
 * answered exactly as a file that does not exist. Editors open a page's files through the editor's
 * own route. Uploads are multipart, in a scope of their own, read only for someone allowed to send them. */

const PRIVATE = "private, no-store";
/** How long a shared cache may keep a public file: short, as unpublishing must take effect. */
const PUBLIC_CACHE = "public, max-age=300";

/** The most a multipart body may hold besides its one file: the form's short fields. */
const FORM_FIELDS = { fields: 10, fieldSize: 2_000, parts: 12, files: 1, headerPairs: 100 } as const;

/** Sends a file's bytes with its detected type, as an image shown in place or a download: the one way
 * a page's file leaves ClubOS (published pages, editors, previews). */
export function sendPageFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: { sha256: string; file_name: string; content_type: string; bytes: Uint8Array },
  shared: boolean,
) {
  const etag = `"${file.sha256}"`;
  reply
    .header("content-type", file.content_type)
    .header("content-disposition", contentDisposition(file.file_name, shownInline(file.content_type)))
    .header("x-content-type-options", "nosniff")
    // A file is never a page: nothing in it may run as this site, even opened on its own.
    .header("content-security-policy", "default-src 'none'; sandbox")
    .header("cache-control", shared ? PUBLIC_CACHE : PRIVATE);
  if (shared) {
    reply.header("etag", etag);
    if (request.headers["if-none-match"] === etag) return reply.code(304).send();
  }
  return reply.send(Buffer.from(file.bytes));
}

/** The routes of page files. */
export function pageFileRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/p/:slug/files/:hash",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary:
      "A file or image of a published page, for those the page and its block admit (404 for anyone else)",
    schema: { params: FILE_PARAMS },
    handler: async (request, reply) => {
      // Private until known to be public: a hidden file's 404 and a missing one's are the same.
      reply.header("vary", "Cookie, Authorization").header("cache-control", PRIVATE);
      const db = request.server.ctx.database.db;
      const { slug, hash: sha256 } = request.params;
      const [page, viewer] = await Promise.all([
        findPublishedPage(db, slug),
        viewerOf(db, request.auth.actor),
      ]);
      if (!page || !audienceAllows(page.audience, viewer)) throw notFound();
      const blocks = page.blocks.filter((b) => fileOfBlock(b) === sha256);
      const shown = blocks.filter((b) => blockAllows(b, viewer));
      if (shown.length === 0) throw notFound();
      const file = await fileOfRevision(db, page.revision_id, sha256);
      if (!file) throw notFound();
      // Kept by shared caches only when every visitor may see it: a public page, and no block showing
      // it restricted.
      const shared =
        viewer.kind === "anonymous" && isPublicRule(page.audience) && !blocks.some(blockIsRestricted);
      return sendPageFile(request, reply, file, shared);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/pages/:id/files/:hash",
    capability: "pages:edit",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "A file or image of any revision of a page, for its editors",
    schema: { params: ADMIN_FILE_PARAMS },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const page = await findPage(db, request.params.id);
      if (!page) throw notFound();
      const revisionId = await pageHasFile(db, page.id, request.params.hash);
      const file = revisionId ? await fileOfRevision(db, revisionId, request.params.hash) : undefined;
      if (!file) throw notFound();
      return sendPageFile(request, reply, file, false);
    },
  });

  // Multipart bodies are taken here only; every other route answers 415 to one.
  app.register(async (uploads) => {
    const maxBytes = uploads.ctx.config.pageFileMaxBytes;
    await uploads.register(multipart, {
      attachFieldsToBody: "keyValues",
      // A file over the limit is not an error of the parser: the action refuses it, with its message.
      throwFileSizeLimit: false,
      limits: { ...FORM_FIELDS, fileSize: maxBytes },
      async onFile(part) {
        const bytes = await part.toBuffer();
        const value: UploadedFile = { fileName: part.filename, bytes, truncated: part.file.truncated };
        (part as unknown as { value: UploadedFile }).value = value;
      },
    });
    declareRoute(uploads, {
      method: "POST",
      url: "/admin/pages/:id/files",
      action: uploadPageFile,
      loadClass: "admin",
      response: "html",
      summary: "Upload an image (with its alt text) or a file as a new block of the draft (multipart)",
      // Who asks is checked before the body is read; the body is the file and the form's few fields.
      bodyLimit: maxBytes + 64 * 1024,
      schema: { params: ID_PARAMS, body: UploadForm },
      handler: async (request, reply, action) => {
        const b = request.body;
        if (b.file?.truncated) throw fileTooLarge(maxBytes);
        const kind = b.kind === "file" ? "file" : "image";
        return action.oncePerForm(
          reply,
          {
            pageId: request.params.id,
            version: versionFrom(b.version, true),
            kind,
            fileName: b.file?.fileName ?? "",
            bytes: b.file?.bytes ?? new Uint8Array(),
            maxBytes,
            text: (kind === "image" ? b.alt : b.label) ?? "",
            caption: b.caption,
          },
          () => `/admin/pages/${request.params.id}?done=uploaded`,
        );
      },
    });
  });
}
