import type { FastifyRequest } from "fastify";
import type { Actor } from "../../core/actor.ts";
import { anonymousActor } from "../../core/actor.ts";
import { type Capability, capabilitiesOf } from "../../core/capabilities.ts";
import type { Database } from "../../core/db/connect.ts";
import type { ContentVersions } from "../../core/db/content-versions.ts";
import { KeptUnderVersion } from "../../core/kept-under-version.ts";
import { hashSecret } from "../../core/secrets.ts";
import { contentVersionsOf } from "../../http/content-versions.ts";
import { SESSION_COOKIE } from "../../http/credentials.ts";
import type { AuthResult } from "../../http/request-context.ts";
import {
  activeRoleKeys,
  endSession,
  findApiToken,
  findSession,
  touchSession,
  type WithRoles,
} from "./identity.repository.ts";

export { SESSION_COOKIE };

/** Session lifetime settings. */
export interface SessionPolicy {
  idleMinutes: number;
  absoluteHours: number;
}

/** A member actor with the capabilities of their current roles. The roles usually come with the
 * session or token row; when that combined read fails, the row is read alone and the roles separately,
 * and if the roles still cannot be read the member gets none (fail closed: permissions_unavailable). */
async function memberActor(
  database: Database,
  memberId: string,
  name: string,
  roleKeys: string[] | null,
): Promise<{ actor: Actor; unavailable: boolean }> {
  try {
    const keys = roleKeys ?? (await activeRoleKeys(database.db, memberId));
    const caps = new Set<Capability>(capabilitiesOf(keys));
    return { actor: { type: "member", memberId, name, capabilities: caps }, unavailable: false };
  } catch {
    return { actor: { type: "member", memberId, name, capabilities: new Set() }, unavailable: true };
  }
}

/** Reads a session or token row with its roles in one query, or without them if that fails. */
async function withRolesOrWithout<T>(find: (roles: WithRoles) => Promise<T>): Promise<T> {
  try {
    return await find("with roles");
  } catch {
    return find("without roles");
  }
}

/** A session row as findSession reads it. */
type SessionRow = NonNullable<Awaited<ReturnType<typeof findSession>>>;

/** The sessions a process keeps, by token hash: each row (with its member's role keys) under the access
 * version of the snapshot it was read in, from the database time it was read at until its roles next
 * change by the clock (a term beginning or ending). Expiry and idle time are still compared with the
 * clock on every request. Bounded: a token nobody uses any more is forgotten. */
export class SessionCache {
  private readonly kept = new KeptUnderVersion<SessionRow>(4096);

  /** The kept row for this hash if it is what the database says at `versions`, else undefined. */
  usable(hash: string, versions: ContentVersions): SessionRow | undefined {
    return this.kept.get(hash, versions.access, versions.now);
  }

  /** Keeps a row read with its roles (one read without them is never kept: its roles are unknown). */
  keep(hash: string, row: SessionRow): void {
    if (row.roleKeys === null) return;
    this.kept.keep(
      hash,
      row,
      row.accessVersion,
      row.now,
      row.rolesChangeAt ? new Date(row.rolesChangeAt) : null,
    );
  }

  forget(hash: string): void {
    this.kept.forget(hash);
  }
}

/** Resolves a session token; ends it if its idle or absolute lifetime is over. With a cache and the
 * request's fresh content versions, a row kept under the current access version is used instead of
 * reading it again: every change to what it holds changes that version, so it is the row the database
 * would return, and its lifetimes are still compared with the database's clock of the fresh read. */
export async function resolveSessionToken(
  database: Database,
  token: string,
  policy: SessionPolicy,
  kept?: { cache: SessionCache; versions: ContentVersions },
): Promise<AuthResult | null> {
  const hash = hashSecret(token);
  const cached = kept?.cache.usable(hash, kept.versions);
  let row: SessionRow | undefined;
  if (cached) row = { ...cached, now: kept!.versions.now };
  else {
    row = await withRolesOrWithout((roles) => findSession(database.db, hash, roles));
    if (row) kept?.cache.keep(hash, row);
  }
  if (!row || row.endedAt || row.disabledAt || row.deletedAt) return null;
  const now = new Date(row.now).getTime();
  if (now >= new Date(row.expiresAt).getTime()) {
    await endSession(database.db, row.sessionId, "absolute");
    return null;
  }
  if (now - new Date(row.lastSeenAt).getTime() >= policy.idleMinutes * 60_000) {
    // A kept row's last_seen_at may be older than the database's (another process touched it): the
    // session is only ended on the database's own word.
    if (cached) {
      kept!.cache.forget(hash);
      return resolveSessionToken(database, token, policy, kept);
    }
    await endSession(database.db, row.sessionId, "idle");
    return null;
  }
  if ((await touchSession(database.db, row)) && cached) cached.lastSeenAt = new Date(row.now);
  const { actor, unavailable } = await memberActor(database, row.memberId, row.name, row.roleKeys);
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
  const hash = hashSecret(secret);
  const row = await withRolesOrWithout((roles) => findApiToken(database.db, hash, roles));
  if (!row || row.revokedAt || row.deletedAt) return null;
  const { actor, unavailable } = await memberActor(database, row.memberId, row.name, row.roleKeys);
  if (row.capabilities && actor.type === "member") {
    const allowed = new Set(row.capabilities);
    actor.capabilities = new Set([...actor.capabilities].filter((c) => allowed.has(c)));
  }
  return { actor, via: "token", permissionsUnavailable: unavailable };
}

/** Builds the request authenticator used by the first guard of every route. */
export function makeAuthenticator(database: Database, policy: SessionPolicy) {
  const cache = new SessionCache();
  return async (request: FastifyRequest): Promise<AuthResult> => {
    const header = request.headers.authorization;
    if (header?.startsWith("Bearer ")) {
      return (
        (await resolveApiToken(database, header.slice(7).trim())) ?? { actor: anonymousActor, via: null }
      );
    }
    const token = request.cookies?.[SESSION_COOKIE];
    if (token) {
      const versions = await contentVersionsOf(request);
      const resolved = await resolveSessionToken(database, token, policy, { cache, versions });
      if (resolved) return resolved;
    }
    return { actor: anonymousActor, via: null };
  };
}
