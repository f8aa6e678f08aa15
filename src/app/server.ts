import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import Fastify, { type FastifyInstance } from "fastify";
import { countResponse } from "../core/metrics.ts";
import { committeeApiRoutes } from "../domains/committees/committees.api.ts";
import { committeeRoutes } from "../domains/committees/committees.routes.tsx";
import { eventAdminApiRoutes } from "../domains/events/events.admin.api.ts";
import { eventAdminRoutes } from "../domains/events/events.admin.routes.tsx";
import { eventRoutes } from "../domains/events/events.routes.tsx";
import { calendarFeedSection, icalRoutes } from "../domains/events/ical.routes.tsx";
import { accountLinkRoutes } from "../domains/identity/account-links.routes.tsx";
import { identityRoutes } from "../domains/identity/identity.routes.tsx";
import { joinRoutes } from "../domains/identity/join.routes.tsx";
import { loginThrottleRoutes, loginThrottleSection } from "../domains/identity/login-throttle.routes.tsx";
import { outboxRoutes } from "../domains/mail/outbox.routes.tsx";
import { announcementApiRoutes } from "../domains/members/announcements.api.ts";
import { announcementRoutes } from "../domains/members/announcements.routes.tsx";
import { memberImportRoutes } from "../domains/members/import/import.routes.tsx";
import { memberApiRoutes } from "../domains/members/members.api.ts";
import { memberRoutes } from "../domains/members/members.routes.tsx";
import { renewalRoutes } from "../domains/members/renewal.routes.ts";
import { tierRoutes } from "../domains/members/tiers.routes.tsx";
import { backupRoutes } from "../domains/ops/backups.routes.tsx";
import { incidentRoutes } from "../domains/ops/incidents.routes.tsx";
import { opsRoutes } from "../domains/ops/ops.routes.tsx";
import { restoreRoutes } from "../domains/ops/restore.routes.tsx";
import { systemRoutes } from "../domains/ops/system.routes.ts";
import { pageFileRoutes } from "../domains/pages/page-files.routes.tsx";
import { pageAdminRoutes } from "../domains/pages/pages.admin.routes.tsx";
import { pageApiRoutes } from "../domains/pages/pages.api.ts";
import { pageFeedRoutes } from "../domains/pages/pages.feeds.routes.tsx";
import { pageRoutes } from "../domains/pages/pages.routes.tsx";
import { previewAdminRoutes } from "../domains/pages/preview.admin.routes.tsx";
import { previewRoutes } from "../domains/pages/preview.routes.tsx";
import { settingsRoutes } from "../domains/settings/settings.routes.tsx";
import { installErrorHandling } from "../http/error-handler.tsx";
import { countRequestsInFlight } from "../http/foreground.ts";
import { installCachePolicy, installSecurityHeaders } from "../http/headers.ts";
import { openApiRoutes } from "../http/openapi.ts";
import { enforceDeclarations, routeOf } from "../http/routes.ts";
import { backupOperations } from "./backup-operations.ts";
import type { TrustProxy } from "./config.ts";
import type { AppContext } from "./context.ts";
import { restoreRunner } from "./restore-flow.ts";

/** Every domain's routes, in one list so `clubos routes` and the tests see the same table. */
export const ROUTE_MODULES: Array<(app: FastifyInstance, ctx: AppContext) => void> = [
  pageRoutes,
  openApiRoutes,
  identityRoutes,
  systemRoutes,
  opsRoutes,
  eventRoutes,
  eventAdminRoutes,
  eventAdminApiRoutes,
  icalRoutes,
  outboxRoutes,
  incidentRoutes,
  (app, ctx) => {
    const runner = restoreRunner(ctx);
    // The same for a restore started from the page: its load and verification are not cut off.
    app.addHook("onClose", () => runner.settled());
    restoreRoutes(app, runner);
  },
  (app) =>
    memberRoutes(app, { profileSections: [calendarFeedSection], adminSections: [loginThrottleSection] }),
  memberApiRoutes,
  announcementApiRoutes,
  memberImportRoutes,
  renewalRoutes,
  announcementRoutes,
  committeeRoutes,
  committeeApiRoutes,
  accountLinkRoutes,
  loginThrottleRoutes,
  joinRoutes,
  settingsRoutes,
  tierRoutes,
  (app, ctx) => {
    const ops = backupOperations(ctx);
    // Closing the server (serve's stop on SIGTERM) waits for a backup or drill started from the page,
    // before the database closes: it finishes, is recorded and listed, never cut off half written.
    app.addHook("onClose", () => ops.settled());
    backupRoutes(app, ops);
  },
  pageAdminRoutes,
  previewRoutes,
  previewAdminRoutes,
  pageFileRoutes,
  pageFeedRoutes,
  pageApiRoutes,
];

/** Form and JSON bodies: the largest legitimate one, an event with its 20,000-character description,
 * is at most about 250 KB even url-encoded in 4-byte characters. Routes that take more say so. */
const BODY_LIMIT = 512 * 1024;

/** Fastify's trustProxy for CLUBOS_TRUST_PROXY. Fastify takes a bare number as "trust none", so a
 * count is given as the rule it stands for: the nearest `hops` peers are proxies, the next is the client. */
function fastifyTrustProxy(
  setting: TrustProxy,
): false | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === "number" ? (_address, hop) => hop < setting : setting;
}

/** Builds the Fastify app; boot fails if any route lacks its declaration (D-1, G16). */
export async function buildServer(
  ctx: AppContext,
  options: {
    logger?: boolean;
    /** Where the log goes instead of stdout (tests read it). */
    logStream?: { write(line: string): void };
    extraRoutes?: Array<(app: FastifyInstance) => void>;
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ? { level: ctx.config.logLevel, stream: options.logStream } : false,
    trustProxy: fastifyTrustProxy(ctx.config.trustProxy),
    bodyLimit: BODY_LIMIT,
    genReqId: () => crypto.randomUUID(),
  });
  app.decorate("ctx", ctx);
  // First of all hooks, so every request counts while it runs (the mail worker yields to them, G11).
  // A server built only for its route table (`clubos routes`, the OpenAPI document) has no runtime.
  if (ctx.foreground) countRequestsInFlight(app, ctx.foreground);
  enforceDeclarations(app);
  await app.register(cookie);
  await app.register(formbody);
  installSecurityHeaders(app);
  installCachePolicy(app);
  installErrorHandling(app);
  app.addHook("onResponse", (request, reply, done) => {
    countResponse(routeOf(request)?.loadClass ?? "public", reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  for (const register of [...ROUTE_MODULES, ...(options.extraRoutes ?? [])]) register(app, ctx);
  await app.ready();
  return app;
}
