import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { runAction } from "../../../core/action.ts";
import { ClubError, invalidInput } from "../../../core/errors.ts";
import { ADMIN_WRITE, ID, READ } from "../../../http/declarations.ts";
import { sendPage } from "../../../http/page.tsx";
import { declareRoute } from "../../../http/routes.ts";
import { exportMembers } from "../members.export.ts";
import { APPLY_BATCH, confirmImport } from "./apply.ts";
import { decodeCsvBytes } from "./csv.ts";
import { loadImport, savePlan } from "./import.repository.ts";
import { ImportFormView, ImportPlanView, ImportProgressView } from "./import.views.tsx";
import { planImport } from "./plan.ts";
import { applyProgress, setApplyProgress } from "./progress.ts";

// A GET that writes its audit entry: exportMembers is an admin action, so read-only mode and the admin
// freeze refuse it (503) rather than let a copy of the member list out unrecorded.
const EXPORT = { readOnly: "serves", databaseDown: "503", frozenBy: "admin_freeze" } as const;
/** The largest CSV body the JSON API takes; the HTML form is bound by the server's 1 MB body limit. */
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

async function sendExport(request: FastifyRequest, reply: FastifyReply) {
  const { csv } = await runAction(env(request), exportMembers, {});
  const day = new Date().toISOString().slice(0, 10);
  return reply
    .type("text/csv; charset=utf-8")
    .header("content-disposition", `attachment; filename="members-${day}.csv"`)
    .header("cache-control", "no-store")
    .send(csv);
}

/** CSV import (upload, dry run, confirm) and export of members, as pages and JSON API. */
export function memberImportRoutes(app: FastifyInstance): void {
  if (!app.hasContentTypeParser("text/csv")) {
    // Raw bytes, so that the import can refuse a file that is not UTF-8 and name the line.
    app.addContentTypeParser("text/csv", { parseAs: "buffer", bodyLimit: CSV_BODY_LIMIT }, (_r, body, done) =>
      done(null, body),
    );
  }

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
      const progress = stored.status === "applied" ? undefined : applyProgress(id);
      if (progress) {
        const body = <ImportProgressView progress={progress} />;
        return sendPage(request, reply, "Member import", body, 200, {
          refreshSeconds: progress.error ? undefined : 2,
        });
      }
      return sendPage(request, reply, "Member import", <ImportPlanView request={request} stored={stored} />);
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
      const total = stored.plan.rows.length;
      if (total <= APPLY_BATCH || stored.status !== "planned") {
        await confirmImport(env(request), id, body.file_hash);
        return reply.redirect(`/admin/members/import/${id}`, 303);
      }
      // A large file is applied after this answer, so the admin sees its progress instead of a page that
      // hangs for minutes; each row is still its own audited action.
      setApplyProgress(id, { done: 0, total });
      confirmImport(env(request), id, body.file_hash, (done) => setApplyProgress(id, { done, total }))
        .then(() => setApplyProgress(id, "finished"))
        .catch((error: unknown) => {
          request.log.error({ err: error, importId: id }, "member import stopped");
          setApplyProgress(id, {
            done: applyProgress(id)?.done ?? 0,
            total,
            error: error instanceof Error ? error.message : String(error),
          });
        });
      return reply.redirect(`/admin/members/import/${id}`, 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/import",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Dry-run a member CSV (text/csv body or JSON {csv}); returns the plan to confirm",
    handler: async (request, reply) => {
      const { text, fileName } = csvFromApiBody(request);
      const { importId, plan } = await dryRun(request, text, fileName);
      return reply.code(201).send({ importId, status: "planned", ...plan });
    },
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
      return { importId: stored.id, status: stored.status, ...stored.plan, result: stored.result };
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
