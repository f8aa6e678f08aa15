import type { FastifyInstance } from "fastify";
import { migrationStatus } from "../../core/db/migrate.ts";
import { ClubError } from "../../core/errors.ts";
import { registry } from "../../core/metrics.ts";
import { NO_DB } from "../../http/declarations.ts";
import { declareRoute } from "../../http/routes.ts";

function isLoopback(ip: string): boolean {
  return ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";
}

/** Health, readiness, metrics and version: what an operator and a load balancer look at. */
export function systemRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/healthz",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: NO_DB,
    summary: "The process is alive",
    handler: async () => ({ status: "alive" }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/readyz",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: NO_DB,
    summary: "Database reachable, migrations current, mode readable; 503 when not ready",
    handler: async (request, reply) => {
      const ctx = request.server.ctx;
      const checks: Record<string, string> = {};
      try {
        const statuses = await migrationStatus(ctx.database);
        checks.database = "ok";
        checks.migrations = statuses.every((s) => s.state === "applied") ? "current" : "not current";
      } catch {
        checks.database = "unreachable";
        checks.migrations = "unknown";
      }
      const state = await ctx.modes.refresh();
      checks.mode = state ? state.mode : "unreadable";
      const ready = checks.database === "ok" && checks.migrations === "current" && state !== null;
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/metrics",
    capability: "public", // checked below: operators, or anyone on the machine itself
    loadClass: "admin",
    response: "text",
    degraded: NO_DB,
    summary: "Prometheus metrics, for operators or from loopback only",
    handler: async (request, reply) => {
      const operator = request.auth.actor.capabilities.has("system:operate");
      // request.ip is the client as the trusted proxies saw it (CLUBOS_TRUST_PROXY), else the peer.
      if (!operator && !isLoopback(request.ip)) {
        throw new ClubError("not_found", "This page does not exist, or you do not have access to it.", 404);
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/system/version",
    capability: "admin:access",
    loadClass: "admin",
    response: "json",
    degraded: NO_DB,
    summary: "The running version and its deploy record",
    handler: async (request) => {
      const deploy = request.server.ctx.deploy;
      return deploy
        ? {
            version: deploy.version,
            gitCommit: deploy.gitCommit,
            changeClass: deploy.changeClass,
            startedAt: deploy.startedAt,
            host: deploy.host,
            deployId: deploy.id,
          }
        : { version: "unknown" };
    },
  });
}
