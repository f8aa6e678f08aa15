import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { anonymousActor } from "../core/actor.ts";
import {
  ClubError,
  forbidden,
  frozen,
  notFound,
  readOnly,
  stateUnknown,
  unauthenticated,
} from "../core/errors.ts";
import { refusalCounter } from "../core/metrics.ts";
import type { RouteDeclaration } from "./routes.ts";
import { isWrite } from "./routes.ts";
import "./request-context.ts";

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** The CSRF token for a session: derived from the session token, so it needs no storage. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update(`csrf:${sessionToken}`).digest("base64url");
}

function refuse(error: ClubError): never {
  refusalCounter.inc({ code: error.code });
  throw error;
}

/** Resolves the session or API token. If identity cannot be checked, the request is anonymous (D table). */
const authenticate: Guard = async (request) => {
  try {
    request.auth = await request.server.ctx.authenticate(request);
  } catch {
    request.auth = { actor: anonymousActor, via: null };
  }
};

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin || origin === "null") return origin !== "null";
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Cookie-authenticated writes carry the CSRF token; any browser write must come from our own origin. */
function csrfGuard(decl: RouteDeclaration): Guard {
  return async (request) => {
    if (!isWrite(decl.method)) return;
    if (request.auth.via === "token") return; // bearer tokens are not sent by browsers on their own
    if (!sameOrigin(request))
      refuse(new ClubError("csrf", "This form came from another site and was refused.", 403));
    if (request.auth.via !== "session") return;
    const body = request.body as Record<string, unknown> | undefined;
    const sent = String(request.headers["x-csrf-token"] ?? body?._csrf ?? "");
    const expected = csrfTokenFor(request.auth.sessionToken!);
    const ok = sent.length === expected.length && timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
    if (!ok) {
      refuse(new ClubError("csrf", "This form has expired. Go back, reload the page and try again.", 403));
    }
  };
}

// Someone holding a one-time password may only replace it or leave.
const PASSWORD_CHANGE_EXEMPT = new Set(["/account/password", "/logout"]);

/** The hard gate (S-1): no capability, no entry; unknown permissions deny. */
function capabilityGuard(decl: RouteDeclaration): Guard {
  return async (request) => {
    const { capability } = decl;
    if (capability === "public") return;
    const { actor } = request.auth;
    if (actor.type === "anonymous") refuse(unauthenticated());
    if (request.auth.mustChangePassword && !PASSWORD_CHANGE_EXEMPT.has(decl.url)) {
      refuse(new ClubError("password_change_required", "Choose your own password before going on.", 403));
    }
    if (capability === "authenticated") return;
    if (request.auth.permissionsUnavailable) {
      refuse(
        new ClubError(
          "permissions_unavailable",
          "Your permissions cannot be checked right now, so access is denied. Please try again shortly.",
          403,
        ),
      );
    }
    if (!actor.capabilities.has(capability)) refuse(forbidden(capability));
  };
}

/** Read-only mode and kill switches, from this process's view of the state (O3, D-3). */
function modeGuard(decl: RouteDeclaration): Guard {
  return async (request) => {
    const state = request.server.ctx.modes.current();
    if (decl.degraded.frozenBy !== "none") {
      if (!state) refuse(stateUnknown());
      if (decl.degraded.frozenBy === "preview_off" && state.previewOff) refuse(notFound());
      if (decl.degraded.frozenBy === "admin_freeze" && state.adminFreeze && isWrite(decl.method))
        refuse(frozen("Admin changes", state.reason));
      if (decl.degraded.frozenBy === "publish_freeze" && state.publishFreeze && isWrite(decl.method))
        refuse(frozen("Publishing changes", state.reason));
    }
    if (decl.degraded.readOnly !== "refused") return;
    if (!state) refuse(stateUnknown());
    if (state.mode !== "normal") refuse(readOnly(state.reason, state.mode));
  };
}

/** The guards of one route, in order: who, same-origin, may they, may anyone right now. */
export function guardsFor(decl: RouteDeclaration): Guard[] {
  return [authenticate, csrfGuard(decl), capabilityGuard(decl), modeGuard(decl)];
}
