import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { refreshWalArchiveGauge } from "../../core/db/wal-archive.ts";
import { invalidInput } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { IDEMPOTENCY_KEY } from "../../http/schema.ts";
import { mailQueueStats } from "../mail/outbox.repository.ts";
import { latestLeakAudit } from "../pages/pages.repository.ts";
import { type AuditFilter, listAuditEntries } from "./audit.repository.ts";
import { openIncidents } from "./incidents.repository.ts";
import { setMode, setSwitch } from "./mode.actions.ts";
import { presentSystemState } from "./ops.presenters.ts";
import { AuditQuery, ModeBody, ModeForm, ModeOut, SwitchForm, SystemStateOut } from "./ops.schemas.ts";
import { AdminHome, AuditView, SystemView } from "./ops.views.tsx";

// The operator's switches are the way out of read-only mode: their actions are recovery actions, so
// the routes stay allowed in it.

/** The mail dependency for the admin home (G11); undefined when its figures cannot be read. */
async function mailLine(request: FastifyRequest) {
  const mail = request.server.ctx.mail;
  const stats = await mailQueueStats(request.server.ctx.database.db).catch(() => undefined);
  return stats && { configured: mail?.configured ?? false, breaker: mail?.breaker() ?? "unknown", ...stats };
}

/** The newest publishing leak audit (G08) for the system page; null before the first, undefined when it
 * cannot be read (the page still answers). */
async function leakAuditLine(db: Parameters<typeof latestLeakAudit>[0]) {
  const run = await latestLeakAudit(db).then(
    (r) => r ?? null,
    () => undefined,
  );
  return run && { ranAt: new Date(run.ran_at), findings: run.findings, responses: run.responses };
}

/** The audit filter form as the repository's filter: blank fields filter nothing. */
function auditFilter(query: AuditQuery): AuditFilter {
  const text = (value: string | undefined) => value?.trim() || undefined;
  return {
    actor: text(query.actor),
    action: text(query.action),
    subject: text(query.subject),
    from: query.from || undefined,
    to: query.to || undefined,
    beforeSeq: query.beforeSeq,
  };
}

/** A switch form's "on" field: the form sends "true" or "false". */
function switchOn(value: string | undefined): boolean {
  if (value !== "true" && value !== "false") throw invalidInput("Say whether the switch goes on or off.");
  return value === "true";
}

/** The admin console's home, the mode page and the audit log. */
export function opsRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin",
    capability: "admin:access",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Admin console home",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Admin",
        <AdminHome
          page={pageContext(request)}
          state={request.server.ctx.modes.current()}
          deploy={request.server.ctx.deploy}
          mail={await mailLine(request)}
        />,
      ),
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/system",
    capability: "system:operate",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Mode and kill switches",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Mode and kill switches",
        <SystemView
          page={pageContext(request)}
          state={await request.server.ctx.modes.refresh()}
          walArchive={await refreshWalArchiveGauge(request.server.ctx.database)}
          openIncidents={await openIncidents(request.server.ctx.database.db)}
          leakAudit={await leakAuditLine(request.server.ctx.database.db)}
        />,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/system/mode",
    action: setMode,
    loadClass: "admin",
    response: "html",
    summary: "Change the system mode",
    schema: { body: ModeForm },
    handler: async (request, reply, action) => {
      await action.run({ mode: request.body.mode ?? "", reason: request.body.reason ?? "" });
      await request.server.ctx.modes.refresh();
      return reply.redirect("/admin/system", 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/system/switch",
    action: setSwitch,
    loadClass: "admin",
    response: "html",
    summary: "Turn a kill switch on or off",
    schema: { body: SwitchForm },
    handler: async (request, reply, action) => {
      await action.run({
        name: request.body.name ?? "",
        on: switchOn(request.body.on),
        reason: request.body.reason ?? "",
      });
      await request.server.ctx.modes.refresh();
      return reply.redirect("/admin/system", 303);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/system/state",
    capability: "admin:access",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "The mode and kill switches ('unreadable' when the state cannot be read)",
    schema: { response: { 200: SystemStateOut } },
    handler: async (request) => presentSystemState(await request.server.ctx.modes.refresh()),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/system/mode",
    action: setMode,
    loadClass: "admin",
    response: "json",
    summary: "Change the system mode (Idempotency-Key supported)",
    schema: {
      body: ModeBody,
      headers: Type.Object({ "idempotency-key": IDEMPOTENCY_KEY }),
      response: { 200: ModeOut },
    },
    handler: async (request, reply, action) => {
      const sent = await action.idempotentJson(reply, request.body, (result) => ({
        status: 200,
        body: result,
      }));
      // This process sees the change now; the others on its notification, within seconds.
      await request.server.ctx.modes.refresh();
      return sent;
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/audit",
    capability: "audit:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Audit log with filters (actor, action, subject, time)",
    schema: { querystring: AuditQuery },
    handler: async (request, reply) => {
      const filter = auditFilter(request.query);
      const entries = await listAuditEntries(request.server.ctx.database.db, filter);
      return sendPage(request, reply, "Audit log", <AuditView entries={entries} filter={filter} />);
    },
  });
}
