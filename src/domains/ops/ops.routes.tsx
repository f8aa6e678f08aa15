import type { FastifyInstance, FastifyRequest } from "fastify";
import { runAction } from "../../core/action.ts";
import { invalidInput } from "../../core/errors.ts";
import { READ, RECOVERY } from "../../http/declarations.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { type AuditFilter, listAuditEntries } from "./audit.repository.ts";
import { setMode, setSwitch } from "./mode.actions.ts";
import { AdminHome, AuditView, SystemView } from "./ops.views.tsx";

// The operator's switches are the way out of read-only mode, so they stay allowed in it.

function auditFilter(request: FastifyRequest): AuditFilter {
  const q = request.query as Record<string, string | undefined>;
  const date = (v?: string) => (v && !Number.isNaN(Date.parse(v)) ? v : undefined);
  const seq = Number(q.beforeSeq);
  return {
    actor: q.actor?.trim() || undefined,
    action: q.action?.trim() || undefined,
    subject: q.subject?.trim() || undefined,
    from: date(q.from),
    to: date(q.to),
    beforeSeq: Number.isInteger(seq) && seq > 0 ? seq : undefined,
  };
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
    handler: async (request, reply) => {
      const { actor } = request.auth;
      return sendPage(
        request,
        reply,
        "Admin",
        <AdminHome
          name={actor.type === "member" ? actor.name : "?"}
          state={request.server.ctx.modes.current()}
          deploy={request.server.ctx.deploy}
          canOperate={actor.capabilities.has("system:operate")}
          canAudit={actor.capabilities.has("audit:read")}
          canManageEvents={actor.capabilities.has("events:manage")}
        />,
      );
    },
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
        <SystemView request={request} state={await request.server.ctx.modes.refresh()} />,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/system/mode",
    capability: "system:operate",
    loadClass: "admin",
    response: "html",
    degraded: RECOVERY,
    summary: "Change the system mode",
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      await runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), setMode, {
        mode: String(body.mode ?? ""),
        reason: String(body.reason ?? ""),
      });
      await request.server.ctx.modes.refresh();
      return reply.redirect("/admin/system", 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/system/switch",
    capability: "system:operate",
    loadClass: "admin",
    response: "html",
    degraded: RECOVERY,
    summary: "Turn a kill switch on or off",
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      if (body.on !== "true" && body.on !== "false")
        throw invalidInput("Say whether the switch goes on or off.");
      await runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), setSwitch, {
        name: String(body.name ?? ""),
        on: body.on === "true",
        reason: String(body.reason ?? ""),
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
    summary: "The mode and kill switches",
    handler: async (request) => {
      const state = await request.server.ctx.modes.refresh();
      return state ?? { mode: "unreadable" };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/system/mode",
    capability: "system:operate",
    loadClass: "admin",
    response: "json",
    degraded: RECOVERY,
    summary: "Change the system mode",
    schema: {
      body: {
        type: "object",
        required: ["mode", "reason"],
        additionalProperties: false,
        properties: {
          mode: { type: "string", enum: ["normal", "read-only", "maintenance"] },
          reason: { type: "string", minLength: 1 },
        },
      },
    },
    handler: async (request) => {
      const body = request.body as unknown as { mode: string; reason: string };
      const result = await runAction(
        request.server.ctx.actionEnv(request.auth.actor, request.id),
        setMode,
        body,
      );
      await request.server.ctx.modes.refresh();
      return result;
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
    handler: async (request, reply) => {
      const filter = auditFilter(request);
      const entries = await listAuditEntries(request.server.ctx.database.db, filter);
      return sendPage(request, reply, "Audit log", <AuditView entries={entries} filter={filter} />);
    },
  });
}
