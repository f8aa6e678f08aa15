import type { AppContext } from "../app/context.ts";
import type { Actor } from "../core/actor.ts";

/** How the request proved who it is. */
export interface AuthResult {
  actor: Actor;
  via: "session" | "token" | null;
  /** The raw session token from the cookie, kept only to derive the CSRF token. */
  sessionToken?: string;
  sessionId?: string;
  /** Roles could not be loaded: every capability check denies (S-1, fail closed). */
  permissionsUnavailable?: boolean;
  mustChangePassword?: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    auth: AuthResult;
  }
  interface FastifyInstance {
    ctx: AppContext;
  }
}
