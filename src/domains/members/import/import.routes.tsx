import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { runAction } from "../../../core/action.ts";
import { ClubError, invalidInput } from "../../../core/errors.ts";
import { ADMIN_WRITE, ID, READ } from "../../../http/declarations.ts";
import { sendPage } from "../../../http/page.tsx";
import { declareRoute } from "../../../http/routes.ts";
import { exportMembers } from "../members.export.ts";
import {
  APPLY_BATCH,
  type ApplyStart,
  beginConfirm,
  beginResume,
  confirmImport,
  resumeImport,
} from "./apply.ts";
import { decodeCsvBytes } from "./csv.ts";
import { loadImport, savePlan } from "./import.repository.ts";
import { ImportFormView, ImportPlanView, ImportProgressView } from "./import.views.tsx";
import { planImport } from "./plan.ts";
import { isApplyingHere, stopReason } from "./progress.ts";

// A GET that writes its audit entry: exportMembers is an admin action, so read-only mode and the admin
// freeze refuse it (503) rather than let a copy of the member list out unrecorded.
const EXPORT = { readOnly: "serves", databaseDown: "503", frozenBy: "admin_freeze" } as const;
/** The largest member CSV a dry run takes, as a text/csv body, JSON or the form. */
const CSV_BODY_LIMIT = 10 * 1024 * 1024;

const env = (request: FastifyRequest) => request.server.ctx.actionEnv(request.auth.actor, request.id);

async function dryRun(request: FastifyRequest, text: string, fileName: string) {
  const plan = await planImport(request.server.ctx.database.db, text, fileName);
  const importId = await savePlan(request.server.ctx.database, request.auth.actor, plan);
  return { importId, plan };
}

function csvFromApiBody(request: FastifyRequest): { text: string; fileName: string } {
  const body = request.body as unknown;
  const fileName = String((request.query as { fileName?: string }).fileName ?? "");
  if (Buffer.isBuffer(body)) return { text: decodeCsvBytes(body), fileName };
  const json = body as { csv?: unknown; fileName?: unknown } | undefined;
  if (typeof json?.csv === "string") return { text: json.csv, fileName: String(json.fileName ?? fileName) };
  throw invalidInput('Send the CSV as the body with Content-Type: text/csv, or as JSON {"csv": "..."}.');
}

// A large file is applied after the answer, so the admin sees its progress instead of a page that hangs
// for minutes; each row is still its own audited action, and the progress is kept in the database.
function applyInBackground(
  request: FastifyRequest,
  importId: string,
  start: ApplyStart & { replayed: false },
) {
  start.run().catch((error: unknown) => request.log.error({ err: error, importId }, "member import stopped"));
}

const importPage = (id: string) => `/admin/members/import/${id}`;

async function sendExport(request: FastifyRequest, reply: FastifyReply) {
  const { csv } = await runAction(env(request), exportMembers, {});
  const day = new Date().toISOString().slice(0, 10);
  return reply
    .type("text/csv; charset=utf-8")
    .header("content-disposition", `attachment; filename="members-${day}.csv"`)
    .send(csv);
}

/** CSV import (upload, dry run, confirm) and export of members, as pages and JSON API. */
export function memberImportRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/members/import",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "The member import form (CSV)",
    handler: async (request, reply) =>
      sendPage(request, reply, "Import members", <ImportFormView request={request} />),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/import",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: ADMIN_WRITE,
    summary: "Dry-run a member CSV: stores the plan, changes no member",
    bodyLimit: CSV_BODY_LIMIT,
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as { csv?: string; file_name?: string };
      try {
        const { importId } = await dryRun(request, String(body.csv ?? ""), String(body.file_name ?? ""));
        return reply.redirect(`/admin/members/import/${importId}`, 303);
      } catch (error) {
        if (!(error instanceof ClubError) || error.code !== "csv_invalid") throw error;
        const form = <ImportFormView request={request} error={error.message} csv={body.csv} />;
        return sendPage(request, reply, "Import members", form, 400);
      }
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/members/import/:id",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "A member import: its dry run with Confirm, or its result",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const stored = await loadImport(request.server.ctx.database.db, id, request.auth.actor);
      const retentionDays = request.server.ctx.config.importRetentionDays;
      if (stored.status === "applying") {
        // Applying here, or (with several servers) still moving on another one; else it stopped.
        const reason = stopReason(id);
        const where = isApplyingHere(id) ? "here" : !reason && stored.recentlyMoved ? "elsewhere" : "stopped";
        const body = (
          <ImportProgressView request={request} stored={stored} where={where} stopReason={reason} />
        );
        const refreshSeconds = where === "here" ? 2 : where === "elsewhere" ? 10 : undefined;
        return sendPage(request, reply, "Member import", body, 200, { refreshSeconds });
      }
      const body = <ImportPlanView request={request} stored={stored} retentionDays={retentionDays} />;
      return sendPage(request, reply, "Member import", body);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/import/:id/confirm",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: ADMIN_WRITE,
    summary: "Apply a member import's dry run exactly as shown (once)",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as { file_hash?: string };
      const stored = await loadImport(request.server.ctx.database.db, id, request.auth.actor);
      const start = await beginConfirm(env(request), id, body.file_hash);
      if (start.replayed) return reply.redirect(importPage(id), 303);
      if (stored.plan.rows.length > APPLY_BATCH) applyInBackground(request, id, start);
      else await start.run();
      return reply.redirect(importPage(id), 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/import/:id/resume",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: ADMIN_WRITE,
    summary: "Resume a member import cut off by a restart or an error: applies the rows not yet done",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const start = await beginResume(env(request), id);
      if (!start.replayed) applyInBackground(request, id, start);
      return reply.redirect(importPage(id), 303);
    },
  });

  // Only this route reads a text/csv body: its parser lives in a scope of its own, so every other
  // route answers 415 to one.
  app.register(async (csvScope) => {
    // Raw bytes, so that the import can refuse a file that is not UTF-8 and name the line.
    csvScope.addContentTypeParser("text/csv", { parseAs: "buffer" }, (_r, body, done) => done(null, body));
    declareRoute(csvScope, {
      method: "POST",
      url: "/api/v1/members/import",
      capability: "members:write",
      loadClass: "admin",
      response: "json",
      degraded: ADMIN_WRITE,
      summary: "Dry-run a member CSV (text/csv body or JSON {csv}); returns the plan to confirm",
      bodyLimit: CSV_BODY_LIMIT,
      handler: async (request, reply) => {
        const { text, fileName } = csvFromApiBody(request);
        const { importId, plan } = await dryRun(request, text, fileName);
        return reply.code(201).send({ importId, status: "planned", ...plan });
      },
    });
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members/import/:id",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "A member import: plan, status and result",
    schema: { params: ID },
    handler: async (request) => {
      const stored = await loadImport(
        request.server.ctx.database.db,
        (request.params as { id: string }).id,
        request.auth.actor,
      );
      return {
        importId: stored.id,
        status: stored.status,
        ...stored.plan,
        result: stored.result,
        rowsDone: stored.rowsDone,
        purgedAt: stored.purgedAt,
      };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/import/:id/confirm",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Apply a dry run (body {fileHash}); a repeat replays the first result",
    schema: {
      params: ID,
      body: {
        type: "object",
        required: ["fileHash"],
        additionalProperties: false,
        properties: { fileHash: { type: "string", pattern: "^[0-9a-f]{64}$" } },
      },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const outcome = await confirmImport(env(request), id, (request.body as { fileHash: string }).fileHash);
      if (outcome.replayed) reply.header("Idempotent-Replayed", "true");
      return reply.send({ ...outcome, status: "applied" });
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/import/:id/resume",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary:
      "Resume an import cut off while applying (status 'applying'); applies only the rows not yet done",
    schema: { params: ID },
    handler: async (request, reply) => {
      const outcome = await resumeImport(env(request), (request.params as { id: string }).id);
      if (outcome.replayed) reply.header("Idempotent-Replayed", "true");
      return reply.send({ ...outcome, status: "applied" });
    },
  });

  for (const [url, response] of [
    ["/admin/members/export.csv", "html"],
    ["/api/v1/members/export.csv", "json"],
  ] as const) {
    declareRoute(app, {
      method: "GET",
      url,
      capability: "members:read",
      loadClass: "admin",
      response,
      degraded: EXPORT,
      summary: "Members as CSV (audited as member.exported; refused in read-only mode)",
      handler: sendExport,
    });
  }
}
