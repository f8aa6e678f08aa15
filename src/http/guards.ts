import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { assertPolicy, type Policy } from "../core/access.ts";
import { anonymousActor } from "../core/actor.ts";
import {
  type ClubError,
  CORE_ERRORS,
  databaseUnavailable,
  forbidden,
  identityUnavailable,
  isDatabaseDown,
  notFound,
  stateUnknown,
  unauthenticated,
} from "../core/errors.ts";
import { refusalCounter } from "../core/metrics.ts";
import { type ActionEffect, modeRefusal } from "../core/modes.ts";
import { carriesCredentials } from "./credentials.ts";
import type { DegradedBehaviour, ResolvedRoute, RoutePolicy } from "./routes.ts";
import "./request-context.ts";

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
/** A check that needs nothing read: it passes or throws the refusal. */
type Check = (request: FastifyRequest) => void;

/** The CSRF token for a session: derived from the session token, so it needs no storage. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update(`csrf:${sessionToken}`).digest("base64url");
}

function refuse(error: ClubError): never {
  refusalCounter.inc({ code: error.code });
  throw error;
}

/** Resolves the session or API token. If identity cannot be checked, a route that needs the database
 * answers 503 whatever credentials came (D table: a client must not conclude its token is bad); only
 * routes that need no database go on, as anonymous. */
function authenticate(route: ResolvedRoute): Guard {
  return async (request) => {
    if (request.auth !== undefined) return; // already done before the body was read
    // The process already knows the database is out of reach: a route that needs it answers 503 now.
    if (route.degraded.databaseDown === "503" && !request.server.ctx.modes.databaseReachable()) {
      request.auth = { actor: anonymousActor, via: null };
      refuse(databaseUnavailable());
    }
    try {
      request.auth = await request.server.ctx.authenticate(request);
    } catch (error) {
      if (route.degraded.databaseDown === "serves" || !carriesCredentials(request.headers)) {
        request.auth = { actor: anonymousActor, via: null };
        return;
      }
      refuse(isDatabaseDown(error) ? databaseUnavailable() : identityUnavailable());
    }
  };
}

/** Whether a browser's write comes from our own origin, by its Origin header. A page sent with
 * Referrer-Policy: no-referrer (every preview, src/http/headers.ts) makes the browser send `Origin: null`
 * on its forms; so does a sandboxed frame or a data: page of any site. `null` is therefore accepted only
 * with `Sec-Fetch-Site: same-origin`, which the browser sets itself (no page, ours or another site's, can
 * set or change a Sec- header). No Origin at all is a client that is not a browser form (curl, the tests);
 * the CSRF token still holds a session's writes. */
export function sameOrigin(request: Pick<FastifyRequest, "headers">): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  if (origin === "null") return request.headers["sec-fetch-site"] === "same-origin";
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Cookie-authenticated writes carry the CSRF token; any browser write must come from our own origin. */
function csrfGuard(route: ResolvedRoute): Check {
  return (request) => {
    if (!route.writes) return;
    if (request.auth.via === "token") return; // bearer tokens are not sent by browsers on their own
    if (!sameOrigin(request)) refuse(CORE_ERRORS.csrf("This form came from another site and was refused."));
    if (request.auth.via !== "session") return;
    const body = request.body as Record<string, unknown> | undefined;
    const sent = String(request.headers["x-csrf-token"] ?? body?._csrf ?? "");
    const expected = csrfTokenFor(request.auth.sessionToken!);
    const ok = sent.length === expected.length && timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
    if (!ok) {
      refuse(CORE_ERRORS.csrf("This form has expired. Go back, reload the page and try again."));
    }
  };
}

// Someone holding a one-time password may only replace it or leave.
const PASSWORD_CHANGE_EXEMPT = new Set(["/account/password", "/logout"]);

/** The hard gate (S-1): no capability, no entry; unknown permissions deny. The capability is the
 * route's, or its action's when it runs one. */
function capabilityGuard(route: ResolvedRoute): Check {
  return (request) => {
    const { capability } = route;
    if (capability === "public") return;
    const { actor } = request.auth;
    if (actor.type === "anonymous") refuse(unauthenticated());
    if (request.auth.mustChangePassword && !PASSWORD_CHANGE_EXEMPT.has(route.url)) {
      refuse(CORE_ERRORS.password_change_required("Choose your own password before going on."));
    }
    if (capability === "authenticated") return;
    if (request.auth.permissionsUnavailable) {
      refuse(
        CORE_ERRORS.permissions_unavailable(
          "Your permissions cannot be checked right now, so access is denied. Please try again shortly.",
        ),
      );
    }
    if (!actor.capabilities.has(capability)) refuse(forbidden(capability));
  };
}

/** The effect a route without an action has, read from its declared degraded behaviour, so that both
 * kinds of route go through the same modeRefusal; null for reads. */
export function effectOfDeclared(degraded: DegradedBehaviour, writes: boolean): ActionEffect | null {
  if (!writes) return null;
  if (degraded.readOnly === "allowed") return "recovery";
  if (degraded.frozenBy === "admin_freeze") return "admin";
  if (degraded.frozenBy === "publish_freeze") return "publish";
  return "write";
}

/** Read-only mode and kill switches, from this process's view of the state (O3, D-3), decided by the one
 * modeRefusal; the action's own transaction checks again, in SQL, at its last write. */
function modeGuard(route: ResolvedRoute): Check {
  const effect = route.effect ?? effectOfDeclared(route.degraded, route.writes);
  return (request) => {
    const state = request.server.ctx.modes.current();
    if (route.degraded.frozenBy === "preview_off") {
      if (!state) refuse(stateUnknown());
      if (state.previewOff) refuse(notFound());
    }
    if (effect === null) return;
    const refusal = modeRefusal(effect, state);
    if (refusal) refuse(refusal);
  };
}

/** A read route's object-level rule, after validation so its input is well formed. */
export function policyGuard(routePolicy: RoutePolicy): Guard {
  return async (request) => {
    const access = { capability: undefined, policy: routePolicy.rule as Policy<unknown> };
    await assertPolicy(
      access,
      { db: request.server.ctx.database.db, actor: request.auth.actor },
      routePolicy.input(request.params as Record<string, string>),
    ).catch((error: unknown) => refuse(error as ClubError));
  };
}

/** Who asks, then checks that need nothing read, in order, as one hook: every request takes this path,
 * and each hook of its own costs Fastify a turn of its hook runner. */
function inOrder(route: ResolvedRoute, checks: Check[]): Guard {
  const who = authenticate(route);
  return async (request, reply) => {
    await who(request, reply);
    for (const check of checks) check(request);
  };
}

/** The guards of one route, in order: who, same-origin, may they, may anyone right now. */
export function guardsFor(route: ResolvedRoute): Guard {
  return inOrder(route, [csrfGuard(route), capabilityGuard(route), modeGuard(route)]);
}

/** The guards that need no body (who, may they), for routes that check them before reading a large one. */
export function identityGuardsFor(route: ResolvedRoute): Guard {
  return inOrder(route, [capabilityGuard(route)]);
}
