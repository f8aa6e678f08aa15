import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ClubError, notFound } from "../../../core/errors.ts";
import { READ } from "../../../http/declarations.ts";
import { pageContext, sendPage } from "../../../http/page.tsx";
import type { RouteAction } from "../../../http/route-action.ts";
import { declareRoute, routePolicy } from "../../../http/routes.ts";
import { EMPTY_BODY, EMPTY_FORM, ID_PARAMS } from "../../../http/schema.ts";
import { exportMembers } from "../members.export.ts";
import {
  APPLY_BATCH,
  type ApplyStart,
  beginConfirm,
  beginResume,
  confirmImport,
  type ImportApplier,
  resumeImport,
} from "./apply.ts";
import { assertReadableText, decodeCsvBytes } from "./csv.ts";
import { applyMemberImport, type ImportStep, planMemberImport, type StepOutcome } from "./import.actions.ts";
import { MADE_THE_IMPORT } from "./import.policies.ts";
import { presentApplied, presentImport, presentNewPlan } from "./import.presenters.ts";
import { findImport } from "./import.repository.ts";
import {
  AppliedOut,
  ConfirmBody,
  ConfirmForm,
  CSV_BODY_LIMIT,
  DryRunBody,
  DryRunForm,
  DryRunQuery,
  ImportOut,
  PlanOut,
} from "./import.schemas.ts";
import { ImportFormView, ImportPlanView, ImportProgressView } from "./import.views.tsx";
import { planImport } from "./plan.ts";
import { isApplyingHere, stopReason } from "./progress.ts";

const importPage = (id: string) => `/admin/members/import/${id}`;

/** Only the import's author sees it (the same policy its steps are checked against). */
const THIS_IMPORT = routePolicy(MADE_THE_IMPORT, (params) => ({ importId: params.id! }));

/** The dry run of a file: a read of the members it names, made by someone the route admitted. */
const plan = (request: FastifyRequest, text: string, fileName: string) =>
  planImport(request.server.ctx.database.db, text, fileName);

/** The import the route's policy admitted, or 404 if it is gone meanwhile. */
async function storedImport(request: FastifyRequest, id: string) {
  const stored = await findImport(request.server.ctx.database.db, id);
  if (!stored) throw notFound();
  return stored;
}

/** Applies an import as the request's actor, through the route's own action. */
const applier = (request: FastifyRequest, action: RouteAction<ImportStep, StepOutcome>): ImportApplier => ({
  database: request.server.ctx.database,
  step: (input) => action.run(input),
});

// A large file is applied after the answer, so the admin sees its progress instead of a page that hangs
// for minutes; each row is still its own audited step, and the progress is kept in the database.
function applyInBackground(
  request: FastifyRequest,
  importId: string,
  start: ApplyStart & { replayed: false },
) {
  start.run().catch((error: unknown) => request.log.error({ err: error, importId }, "member import stopped"));
}

async function sendExport(reply: FastifyReply, action: RouteAction<Record<string, never>, { csv: string }>) {
  const { csv } = await action.run({});
  const day = new Date().toISOString().slice(0, 10);
  return reply
    .type("text/csv; charset=utf-8")
    .header("content-disposition", `attachment; filename="members-${day}.csv"`)
    .send(csv);
}

/** CSV import (upload, dry run, confirm, resume) and export of members, as pages and JSON API. */
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
      sendPage(request, reply, "Import members", <ImportFormView page={pageContext(request)} />),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/import",
    action: planMemberImport,
    loadClass: "admin",
    response: "html",
    summary: "Dry-run a member CSV: stores the plan (once per form), changes no member",
    bodyLimit: CSV_BODY_LIMIT,
    schema: { body: DryRunForm },
    handler: async (request, reply, action) => {
      const { csv = "", file_name = "" } = request.body;
      try {
        const dryRun = await plan(request, csv, file_name);
        return await action.oncePerForm(reply, { plan: dryRun }, ({ importId }) => importPage(importId));
      } catch (error) {
        if (!(error instanceof ClubError) || error.code !== "csv_invalid") throw error;
        const form = <ImportFormView page={pageContext(request)} error={error.message} csv={csv} />;
        return sendPage(request, reply, "Import members", form, 400);
      }
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/members/import/:id",
    capability: "members:write",
    policy: THIS_IMPORT,
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "A member import: its dry run with Confirm, its progress, or its result",
    schema: { params: ID_PARAMS },
    handler: async (request, reply) => {
      const { id } = request.params;
      const stored = await storedImport(request, id);
      const page = pageContext(request);
      const view = presentImport(stored);
      if (stored.status === "applying") {
        // Applying here, or (with several servers) still moving on another one; else it stopped.
        const reason = stopReason(id);
        const where = isApplyingHere(id) ? "here" : !reason && stored.recentlyMoved ? "elsewhere" : "stopped";
        const body = <ImportProgressView page={page} stored={view} where={where} stopReason={reason} />;
        const refreshSeconds = where === "here" ? 2 : where === "elsewhere" ? 10 : undefined;
        return sendPage(request, reply, "Member import", body, 200, { refreshSeconds });
      }
      const retentionDays = request.server.ctx.config.importRetentionDays;
      const body = <ImportPlanView page={page} stored={view} retentionDays={retentionDays} />;
      return sendPage(request, reply, "Member import", body);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/import/:id/confirm",
    action: applyMemberImport,
    loadClass: "admin",
    response: "html",
    summary: "Apply a member import's dry run exactly as shown (once)",
    schema: { params: ID_PARAMS, body: ConfirmForm },
    handler: async (request, reply, action) => {
      const { id } = request.params;
      const start = await beginConfirm(applier(request, action), id, request.body.file_hash);
      if (!start.replayed) {
        if (start.rows > APPLY_BATCH) applyInBackground(request, id, start);
        else await start.run();
      }
      return reply.redirect(importPage(id), 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/import/:id/resume",
    action: applyMemberImport,
    loadClass: "admin",
    response: "html",
    summary: "Resume a member import cut off by a restart or an error: applies the rows not yet done",
    schema: { params: ID_PARAMS, body: EMPTY_FORM },
    handler: async (request, reply, action) => {
      const { id } = request.params;
      const start = await beginResume(applier(request, action), id);
      if (!start.replayed) applyInBackground(request, id, start);
      return reply.redirect(importPage(id), 303);
    },
  });

  // Only this route reads a text/csv body: its parser lives in a scope of its own,
  // so every other route answers 415 to one.
  app.register(async (csvScope) => {
    // Strict UTF-8, so that a file saved in another encoding is refused naming the line; the text then
    // goes through the same schema as a JSON body.
    csvScope.addContentTypeParser("text/csv", { parseAs: "buffer" }, (_request, body, done) => {
      try {
        const csv = decodeCsvBytes(body as Buffer);
        assertReadableText(csv);
        done(null, { csv });
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    declareRoute(csvScope, {
      method: "POST",
      url: "/api/v1/members/import",
      action: planMemberImport,
      loadClass: "admin",
      response: "json",
      summary:
        "Dry-run a member CSV (a text/csv body with ?fileName=, or JSON {csv, fileName}); returns the plan to confirm",
      // The route's limit binds every body it takes (CSV or JSON); who asks is checked before it is read.
      bodyLimit: CSV_BODY_LIMIT,
      schema: { body: DryRunBody, querystring: DryRunQuery, response: { 201: PlanOut } },
      handler: async (request, reply, action) => {
        const { csv, fileName = request.query.fileName ?? "" } = request.body;
        const dryRun = await plan(request, csv, fileName);
        const { importId } = await action.run({ plan: dryRun });
        return reply.code(201).send(presentNewPlan(importId, dryRun));
      },
    });
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members/import/:id",
    capability: "members:write",
    policy: THIS_IMPORT,
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "A member import: plan, status and result",
    schema: { params: ID_PARAMS, response: { 200: ImportOut } },
    handler: async (request) => presentImport(await storedImport(request, request.params.id)),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/import/:id/confirm",
    action: applyMemberImport,
    loadClass: "admin",
    response: "json",
    summary: "Apply a dry run (body {fileHash}); a repeat replays the first result",
    schema: { params: ID_PARAMS, body: ConfirmBody, response: { 200: AppliedOut } },
    handler: async (request, reply, action) => {
      const outcome = await confirmImport(applier(request, action), request.params.id, request.body.fileHash);
      if (outcome.replayed) reply.header("Idempotent-Replayed", "true");
      return reply.send(presentApplied(outcome));
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/import/:id/resume",
    action: applyMemberImport,
    loadClass: "admin",
    response: "json",
    summary:
      "Resume an import cut off while applying (status 'applying'); applies only the rows not yet done",
    schema: { params: ID_PARAMS, body: EMPTY_BODY, response: { 200: AppliedOut } },
    handler: async (request, reply, action) => {
      const outcome = await resumeImport(applier(request, action), request.params.id);
      if (outcome.replayed) reply.header("Idempotent-Replayed", "true");
      return reply.send(presentApplied(outcome));
    },
  });

  // The API's export answers CSV (its errors are JSON): a "text" route.
  for (const [url, response] of [
    ["/admin/members/export.csv", "html"],
    ["/api/v1/members/export.csv", "text"],
  ] as const) {
    declareRoute(app, {
      method: "GET",
      url,
      action: exportMembers,
      loadClass: "admin",
      response,
      summary: "Members as CSV (an audited read: each export is recorded as member.exported, in every mode)",
      handler: async (_request, reply, action) => sendExport(reply, action),
    });
  }
}
