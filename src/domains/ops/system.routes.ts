import type { FastifyInstance, FastifyRequest } from "fastify";
import { migrationStatus } from "../../core/db/migrate.ts";
import { refreshWalArchiveGauge } from "../../core/db/wal-archive.ts";
import { notFound } from "../../core/errors.ts";
import {
  mailDeadLetters,
  mailOldestWaiting,
  mailQueueDepth,
  pagesLeakFindings,
  registry,
} from "../../core/metrics.ts";
import { NO_DB } from "../../http/declarations.ts";
import { declareRoute } from "../../http/routes.ts";
import { presentMailState } from "../mail/mail.presenters.ts";
import { type MailQueueStats, mailQueueStats } from "../mail/outbox.repository.ts";
import { latestLeakAudit } from "../pages/pages.repository.ts";
import { presentVersion } from "./ops.presenters.ts";
import { AliveOut, ReadyOut, VersionOut } from "./ops.schemas.ts";

/** The mail queue figures, or null when the database does not answer in time: /readyz and /metrics
 * still answer (mail is information here, never a reason to fail). */
async function mailFigures(request: FastifyRequest): Promise<MailQueueStats | null> {
  const read = mailQueueStats(request.server.ctx.database.db).catch(() => null);
  const late = new Promise<null>((r) => {
    const timer: NodeJS.Timeout = setTimeout(() => r(null), 1000);
    timer.unref();
  });
  const stats = await Promise.race([read, late]);
  if (stats) {
    mailQueueDepth.set(stats.waiting);
    mailOldestWaiting.set(stats.oldestWaitingAt ? (Date.now() - stats.oldestWaitingAt.getTime()) / 1000 : 0);
    mailDeadLetters.set(stats.dead);
  }
  return stats;
}

/** The newest leak audit's findings (G08), -1 before the first or when it cannot be read in time. */
async function leakAuditFigure(request: FastifyRequest): Promise<void> {
  const read = latestLeakAudit(request.server.ctx.database.db).then(
    (r) => (r ? r.findings : -1),
    () => -1,
  );
  const late = new Promise<number>((r) => {
    const timer: NodeJS.Timeout = setTimeout(() => r(-1), 1000);
    timer.unref();
  });
  pagesLeakFindings.set(await Promise.race([read, late]));
}

function isLoopback(ip: string): boolean {
  return ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";
}

/** Who may read /metrics: operators, or anyone on the machine itself. request.ip is the client as the
 * trusted proxies (if any, CLUBOS_TRUST_PROXY) report it. */
function mayReadMetrics(request: FastifyRequest): boolean {
  return request.auth.actor.capabilities.has("system:operate") || isLoopback(request.ip);
}

/** Health, readiness, metrics and version: what an operator and a load balancer look at. None of them
 * runs an action; they answer without the database where they can (NO_DB). */
export function systemRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/healthz",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: NO_DB,
    summary: "The process is alive",
    schema: { response: { 200: AliveOut } },
    handler: async () => ({ status: "alive" as const }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/readyz",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: NO_DB,
    summary:
      "Database reachable, migrations current, mode readable; 503 when not ready. Mail is reported, never required",
    schema: { response: { 200: ReadyOut, 503: ReadyOut } },
    handler: async (request, reply) => {
      const ctx = request.server.ctx;
      const checks: ReadyOut["checks"] = {
        database: "unreachable",
        migrations: "unknown",
        mode: "unreadable",
      };
      try {
        const statuses = await migrationStatus(ctx.database);
        checks.database = "ok";
        checks.migrations = statuses.every((s) => s.state === "applied") ? "current" : "not current";
      } catch {
        // The database cannot be reached: the checks say so.
      }
      const state = await ctx.modes.refresh();
      if (state) checks.mode = state.mode;
      const ready = checks.database === "ok" && checks.migrations === "current" && state !== null;
      const stats = checks.database === "ok" ? await mailFigures(request) : null;
      const mail = presentMailState(ctx.mail, stats);
      const body: ReadyOut = { status: ready ? "ready" : "not ready", checks, degraded: { mail } };
      return reply.code(ready ? 200 : 503).send(body);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/metrics",
    capability: "public", // mayReadMetrics decides: operators, or anyone on the machine itself
    loadClass: "admin",
    response: "text",
    degraded: NO_DB,
    summary: "Prometheus metrics, for operators or from loopback only",
    handler: async (request, reply) => {
      if (!mayReadMetrics(request)) throw notFound();
      // Gauges read from the database at scrape time; each gives up quickly so an outage still answers.
      await refreshWalArchiveGauge(request.server.ctx.database);
      await mailFigures(request);
      await leakAuditFigure(request);
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
    schema: { response: { 200: VersionOut } },
    handler: async (request) => presentVersion(request.server.ctx.deploy),
  });
}
