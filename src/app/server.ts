import http from "node:http";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import proxyAddr from "@fastify/proxy-addr";
import Fastify, { type FastifyInstance, LogController } from "fastify";
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
import { countRequestsInFlight, countUntilClosed } from "../http/foreground.ts";
import { Front } from "../http/front.ts";
import { installCachePolicy, installSecurityHeaders, type Trust } from "../http/headers.ts";
import { openApiRoutes } from "../http/openapi.ts";
import { type ResponseRecorder, recordResponse } from "../http/responses.ts";
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

/** Which peers are trusted proxies, for CLUBOS_TRUST_PROXY: the nearest `hops` peers for a count (the
 * next is the client), the listed addresses and ranges for a list. The framework and the front are
 * given this one function. */
function trustOf(setting: TrustProxy): Trust {
  if (setting === false) return () => false;
  if (typeof setting === "number") return (_address, hop) => hop < setting;
  return proxyAddr.compile(setting);
}

/** The HTTP server with the front's kept answers before Fastify's handler, set up as Fastify sets up
 * its own (its keep-alive, request and connection timeouts). */
function serverWithFront(front: Front) {
  return (
    handler: http.RequestListener,
    options: {
      keepAliveTimeout?: number;
      requestTimeout?: number;
      connectionTimeout?: number;
      maxRequestsPerSocket?: number | null;
    },
  ) => {
    const server = http.createServer(front.handler(handler));
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}

/** Fastify's own request lines are left out: recordResponse writes one line for every request, the
 * front's answers included. Its other lines (a request that errored, a broken stream) stay. */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(...[error, request, reply]: Parameters<LogController["requestCompleted"]>): void {
    if (error) super.requestCompleted(error, request, reply);
  }
}

/** What Fastify's logger (pino) says of its level. */
interface PinoLevels {
  isLevelEnabled(level: string): boolean;
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
  const trust = trustOf(ctx.config.trustProxy);
  const front = new Front();
  const app = Fastify({
    logger: options.logger ? { level: ctx.config.logLevel, stream: options.logStream } : false,
    logController: new OneLinePerRequest(),
    trustProxy: ctx.config.trustProxy === false ? false : trust,
    bodyLimit: BODY_LIMIT,
    genReqId: () => crypto.randomUUID(),
    serverFactory: serverWithFront(front),
  });
  app.decorate("ctx", ctx);
  const recorder: ResponseRecorder = {
    log: app.log,
    logsRequests: options.logger === true && (app.log as unknown as PinoLevels).isLevelEnabled("info"),
  };
  // First of all hooks, so every request counts while it runs (the mail worker yields to them, G11).
  // A server built only for its route table (`clubos routes`, the OpenAPI document) has no runtime.
  if (ctx.foreground) countRequestsInFlight(app, ctx.foreground);
  enforceDeclarations(app, front);
  await app.register(cookie);
  await app.register(formbody);
  installSecurityHeaders(app, trust);
  installCachePolicy(app);
  installErrorHandling(app);
  app.addHook("onResponse", (request, reply, done) => {
    recordResponse(recorder, {
      reqId: request.id,
      method: request.method,
      url: request.url,
      loadClass: routeOf(request)?.loadClass ?? "public",
      status: reply.statusCode,
      milliseconds: reply.elapsedTime,
    });
    done();
  });
  for (const register of [...ROUTE_MODULES, ...(options.extraRoutes ?? [])]) register(app, ctx);
  // New requests go to Fastify once it closes, which refuses them while it finishes the ones it has.
  app.addHook("preClose", (done) => {
    front.close();
    done();
  });
  await app.ready();
  const foreground = ctx.foreground;
  front.open({
    databaseReachable: () => ctx.modes.databaseReachable(),
    countInFlight: foreground ? (res) => countUntilClosed(foreground, res) : undefined,
    trust,
    recorder,
  });
  return app;
}
