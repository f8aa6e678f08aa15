import type { FastifyRequest } from "fastify";
import type { Actor } from "../../core/actor.ts";
import { anonymousActor } from "../../core/actor.ts";
import { type Capability, capabilitiesOf } from "../../core/capabilities.ts";
import type { Database } from "../../core/db/connect.ts";
import type { AuthResult } from "../../http/request-context.ts";
import {
  activeRoleKeys,
  endSession,
  findApiToken,
  findSession,
  touchSession,
} from "./identity.repository.ts";
import { hashSecret } from "./tokens.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "clubos_session";

/** Session lifetime settings. */
export interface SessionPolicy {
  idleMinutes: number;
  absoluteHours: number;
}

/** A member actor with the capabilities of their current roles; if roles cannot be read, none (fail closed). */
async function memberActor(
  database: Database,
  memberId: string,
  name: string,
): Promise<{ actor: Actor; unavailable: boolean }> {
  try {
    const caps = new Set<Capability>(capabilitiesOf(await activeRoleKeys(database.db, memberId)));
    return { actor: { type: "member", memberId, name, capabilities: caps }, unavailable: false };
  } catch {
    return { actor: { type: "member", memberId, name, capabilities: new Set() }, unavailable: true };
  }
}

/** Resolves a session token; ends it if its idle or absolute lifetime is over. */
export async function resolveSessionToken(
  database: Database,
  token: string,
  policy: SessionPolicy,
): Promise<AuthResult | null> {
  const row = await findSession(database.db, hashSecret(token));
  if (!row || row.endedAt || row.disabledAt || row.deletedAt) return null;
  const now = new Date(row.now).getTime();
  if (now >= new Date(row.expiresAt).getTime()) {
    await endSession(database.db, row.sessionId, "absolute");
    return null;
  }
  if (now - new Date(row.lastSeenAt).getTime() >= policy.idleMinutes * 60_000) {
    await endSession(database.db, row.sessionId, "idle");
    return null;
  }
  await touchSession(database.db, row.sessionId);
  const { actor, unavailable } = await memberActor(database, row.memberId, row.name);
  return {
    actor,
    via: "session",
    sessionToken: token,
    sessionId: row.sessionId,
    permissionsUnavailable: unavailable,
    mustChangePassword: row.mustChangePassword,
  };
}

/** Resolves a bearer token; its capabilities are the member's, narrowed to the token's list if it has one. */
async function resolveApiToken(database: Database, secret: string): Promise<AuthResult | null> {
  const row = await findApiToken(database.db, hashSecret(secret));
  if (!row || row.revokedAt || row.deletedAt) return null;
  const { actor, unavailable } = await memberActor(database, row.memberId, row.name);
  if (row.capabilities && actor.type === "member") {
    const allowed = new Set(row.capabilities);
    actor.capabilities = new Set([...actor.capabilities].filter((c) => allowed.has(c)));
  }
  return { actor, via: "token", permissionsUnavailable: unavailable };
}

/** Builds the request authenticator used by the first guard of every route. */
export function makeAuthenticator(database: Database, policy: SessionPolicy) {
  return async (request: FastifyRequest): Promise<AuthResult> => {
    const header = request.headers.authorization;
    if (header?.startsWith("Bearer ")) {
      return (
        (await resolveApiToken(database, header.slice(7).trim())) ?? { actor: anonymousActor, via: null }
      );
    }
    const token = request.cookies?.[SESSION_COOKIE];
    if (token) {
      const resolved = await resolveSessionToken(database, token, policy);
      if (resolved) return resolved;
    }
    return { actor: anonymousActor, via: null };
  };
}
