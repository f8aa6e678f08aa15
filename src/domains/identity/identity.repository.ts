import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";

/** The identity domain's SQL: members as far as login needs them, accounts, sessions, tokens, roles. */

/** The account and member behind an email, if the member is not deleted. */
export function findAccountByEmail(db: Kysely<DB>, email: string) {
  return db
    .selectFrom("accounts")
    .innerJoin("members", "members.id", "accounts.member_id")
    .select([
      "accounts.id as accountId",
      "accounts.password_hash as passwordHash",
      "accounts.disabled_at as disabledAt",
      "accounts.must_change_password as mustChangePassword",
      "members.id as memberId",
      "members.name as name",
      "members.email as email",
    ])
    .where(sql`lower(members.email)`, "=", email.trim().toLowerCase())
    .where("members.deleted_at", "is", null)
    .executeTakeFirst();
}

/** A member by email (case-insensitive), deleted or not. */
export function findMemberByEmail(db: Kysely<DB>, email: string) {
  return db
    .selectFrom("members")
    .selectAll()
    .where(sql`lower(email)`, "=", email.trim().toLowerCase())
    .executeTakeFirst();
}

/** The active role keys of the `members` row in the surrounding query, sorted and distinct; only an
 * active, undeleted member holds roles. Selected with the session or token, it saves a round trip on
 * every signed-in request. */
const roleKeysOfMember = sql<string[]>`ARRAY(SELECT DISTINCT ra.role_key FROM role_assignments ra
  WHERE ra.member_id = members.id AND members.deleted_at IS NULL AND members.status = 'active'
    AND ra.starts_at <= now() AND (ra.ends_at IS NULL OR ra.ends_at > now()) ORDER BY 1)`;

/** The same, for other domains' queries on the `members` table (page audiences name roles). */
export const roleKeysOfMembersRow = roleKeysOfMember;

/** Role keys whose term covers now, for an active, undeleted member; sorted for determinism. */
export async function activeRoleKeys(db: Kysely<DB>, memberId: string): Promise<string[]> {
  const row = await db
    .selectFrom("members")
    .select(roleKeysOfMember.as("roleKeys"))
    .where("id", "=", memberId)
    .executeTakeFirst();
  return row?.roleKeys ?? [];
}

/** What to read with a session or token: its member's roles too, or (when that read fails) without. */
export type WithRoles = "with roles" | "without roles";

/** A live session by token hash, with its account and member. */
export function findSession(db: Kysely<DB>, tokenHash: string, roles: WithRoles = "with roles") {
  return db
    .selectFrom("sessions")
    .innerJoin("accounts", "accounts.id", "sessions.account_id")
    .innerJoin("members", "members.id", "accounts.member_id")
    .select([
      "sessions.id as sessionId",
      "sessions.last_seen_at as lastSeenAt",
      "sessions.expires_at as expiresAt",
      "sessions.ended_at as endedAt",
      "accounts.id as accountId",
      "accounts.disabled_at as disabledAt",
      "accounts.must_change_password as mustChangePassword",
      "members.id as memberId",
      "members.name as name",
      "members.deleted_at as deletedAt",
      sql<Date>`now()`.as("now"),
      roles === "with roles" ? roleKeysOfMember.as("roleKeys") : sql<null>`NULL`.as("roleKeys"),
    ])
    .where("sessions.token_hash", "=", tokenHash)
    .executeTakeFirst();
}

/** Ends a session with a reason (logout, idle, absolute, password_changed, rotated). */
export async function endSession(db: Kysely<DB>, sessionId: string, reason: string): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ ended_at: sql`now()`, ended_reason: reason })
    .where("id", "=", sessionId)
    .where("ended_at", "is", null)
    .execute();
}

/** How often a session in use is marked as seen (its idle timeout counts from there): often enough for
 * a timeout of minutes, rarely enough that reading pages is not a write per page. */
const TOUCH_EVERY_SECONDS = 15;

/** Marks a session as seen now (idle timeout), at most every 15 seconds to spare writes. Given when it was
 * last seen, by the database's clock as read with it, a session seen since sends no statement at all. */
export async function touchSession(
  db: Kysely<DB>,
  session: { sessionId: string; lastSeenAt: Date; now: Date },
): Promise<void> {
  const seenAgoMs = new Date(session.now).getTime() - new Date(session.lastSeenAt).getTime();
  if (seenAgoMs < TOUCH_EVERY_SECONDS * 1000) return;
  await db
    .updateTable("sessions")
    .set({ last_seen_at: sql`now()` })
    .where("id", "=", session.sessionId)
    .where("last_seen_at", "<", sql<Date>`now() - make_interval(secs => ${TOUCH_EVERY_SECONDS})`)
    .execute();
}

/** A live API token with its member. */
export function findApiToken(db: Kysely<DB>, tokenHash: string, roles: WithRoles = "with roles") {
  return db
    .selectFrom("api_tokens")
    .innerJoin("members", "members.id", "api_tokens.member_id")
    .select([
      "api_tokens.id as tokenId",
      "api_tokens.capabilities as capabilities",
      "api_tokens.revoked_at as revokedAt",
      "members.id as memberId",
      "members.name as name",
      "members.deleted_at as deletedAt",
      roles === "with roles" ? roleKeysOfMember.as("roleKeys") : sql<null>`NULL`.as("roleKeys"),
    ])
    .where("api_tokens.token_hash", "=", tokenHash)
    .executeTakeFirst();
}

/** Failures in the last window for an email key and for an address. */
export async function recentFailures(db: Kysely<DB>, emailKey: string, ip: string, windowMinutes: number) {
  const since = sql<Date>`now() - make_interval(mins => ${windowMinutes})`;
  const row = await db
    .selectFrom("login_attempts")
    .select([
      sql<number>`count(*) FILTER (WHERE email_key = ${emailKey})`.as("byEmail"),
      sql<number>`count(*) FILTER (WHERE ip = ${ip})`.as("byIp"),
    ])
    .where("succeeded", "=", false)
    .where("at", ">", since)
    .where((eb) => eb.or([eb("email_key", "=", emailKey), eb("ip", "=", ip)]))
    .executeTakeFirstOrThrow();
  return { byEmail: Number(row.byEmail), byIp: Number(row.byIp) };
}

/** Records one login attempt (ephemeral throttling data, not an authoritative record). */
export async function recordAttempt(db: Kysely<DB>, emailKey: string, ip: string, succeeded: boolean) {
  await db.insertInto("login_attempts").values({ email_key: emailKey, ip, succeeded }).execute();
}

// One transaction-scoped lock for every change that could leave the club without a full administrator:
// two such changes at once (each removing a different one of two admins) would otherwise both see two
// and both commit. Taken before the count; READ COMMITTED gives the count, a statement after the wait,
// the other change's committed result. (7_204_001 and _002 are the audit chain's.)
export const FULL_ADMIN_SET_LOCK = 7_204_003;

/** The members who are active full administrators right now: a current full_admin assignment, active
 * and not deleted. The guard against locking the club out of its own admin reads this, holding the
 * lock above until its transaction ends. */
export async function activeFullAdmins(db: Kysely<DB>): Promise<string[]> {
  await sql`SELECT pg_advisory_xact_lock(${FULL_ADMIN_SET_LOCK})`.execute(db);
  const rows = await db
    .selectFrom("role_assignments as ra")
    .innerJoin("members as m", "m.id", "ra.member_id")
    .select("m.id")
    .distinct()
    .where("ra.role_key", "=", "full_admin")
    .where("ra.starts_at", "<=", sql<Date>`now()`)
    .where((eb) => eb.or([eb("ra.ends_at", "is", null), eb("ra.ends_at", ">", sql<Date>`now()`)]))
    .where("m.status", "=", "active")
    .where("m.deleted_at", "is", null)
    .orderBy("m.id")
    .execute();
  return rows.map((r) => r.id);
}

/** Ends every live session of a member's account, with a reason (member_deleted, password_reset). */
export async function endSessionsOfMember(db: Kysely<DB>, memberId: string, reason: string): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ ended_at: sql`now()`, ended_reason: reason })
    .where("ended_at", "is", null)
    .where("account_id", "in", db.selectFrom("accounts").select("id").where("member_id", "=", memberId))
    .execute();
}

/** One role assignment, or undefined (also for a malformed id). */
export function roleAssignment(db: Kysely<DB>, assignmentId: string) {
  if (!UUID.test(assignmentId)) return Promise.resolve(undefined);
  return db.selectFrom("role_assignments").selectAll().where("id", "=", assignmentId).executeTakeFirst();
}

/** The role keys whose term covers now, whatever the member's status: what they hold now, or hold again
 * once active or restored (activeRoleKeys gives nothing for a suspended or deleted member). Deciding who
 * may act on a member reads this, so suspending someone never makes them easier to act on. */
export async function heldRoleKeys(db: Kysely<DB>, memberId: string): Promise<string[]> {
  if (!UUID.test(memberId)) return [];
  const rows = await db
    .selectFrom("role_assignments")
    .select("role_key")
    .distinct()
    .where("member_id", "=", memberId)
    .where("starts_at", "<=", sql<Date>`now()`)
    .where((eb) => eb.or([eb("ends_at", "is", null), eb("ends_at", ">", sql<Date>`now()`)]))
    .orderBy("role_key")
    .execute();
  return rows.map((r) => r.role_key);
}

/** Opens a session for an account: it lasts absoluteHours at most. Returns its id. */
export async function insertSession(
  db: Kysely<DB>,
  input: { accountId: string; tokenHash: string; absoluteHours: number; ip: string },
): Promise<string> {
  const row = await db
    .insertInto("sessions")
    .values({
      token_hash: input.tokenHash,
      account_id: input.accountId,
      expires_at: sql`now() + make_interval(hours => ${input.absoluteHours})`,
      ip: input.ip,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Ends every live session of an account with a reason; returns how many ended. */
export async function endSessionsOfAccount(
  db: Kysely<DB>,
  accountId: string,
  reason: string,
): Promise<number> {
  const rows = await db
    .updateTable("sessions")
    .set({ ended_at: sql`now()`, ended_reason: reason })
    .where("account_id", "=", accountId)
    .where("ended_at", "is", null)
    .returning("id")
    .execute();
  return rows.length;
}

/** The login account of a member, if they have one. */
export function accountOfMember(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("accounts")
    .select(["id", "password_hash"])
    .where("member_id", "=", memberId)
    .executeTakeFirst();
}

/** Opens a login account for a member; returns its id. */
export async function insertAccount(
  db: Kysely<DB>,
  input: { memberId: string; passwordHash: string; mustChangePassword: boolean },
): Promise<string> {
  const row = await db
    .insertInto("accounts")
    .values({
      member_id: input.memberId,
      password_hash: input.passwordHash,
      must_change_password: input.mustChangePassword,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Gives a member's account this password, creating the account if needed, and enables it (admin
 * access recovery). Returns the account id. */
export async function resetAccount(
  db: Kysely<DB>,
  input: { memberId: string; passwordHash: string; mustChangePassword: boolean },
): Promise<string> {
  const row = await db
    .insertInto("accounts")
    .values({
      member_id: input.memberId,
      password_hash: input.passwordHash,
      must_change_password: input.mustChangePassword,
    })
    .onConflict((oc) =>
      oc.column("member_id").doUpdateSet({
        password_hash: input.passwordHash,
        must_change_password: input.mustChangePassword,
        disabled_at: null,
      }),
    )
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Replaces an account's password; a one-time password no longer needs changing. */
export async function setPassword(db: Kysely<DB>, accountId: string, passwordHash: string): Promise<void> {
  await db
    .updateTable("accounts")
    .set({ password_hash: passwordHash, must_change_password: false })
    .where("id", "=", accountId)
    .execute();
}

/** Assigns a role from startsAt (now when absent) until endsAt (open when absent). */
export function insertRoleAssignment(
  db: Kysely<DB>,
  input: { memberId: string; roleKey: string; startsAt?: Date; endsAt?: Date | null; grantedBy: string },
) {
  return db
    .insertInto("role_assignments")
    .values({
      member_id: input.memberId,
      role_key: input.roleKey,
      starts_at: input.startsAt ?? sql`now()`,
      ends_at: input.endsAt ?? null,
      granted_by: input.grantedBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** One role assignment, locked until the transaction ends; undefined for an unknown or malformed id. */
export function lockRoleAssignment(db: Kysely<DB>, assignmentId: string) {
  if (!UUID.test(assignmentId)) return Promise.resolve(undefined);
  return db
    .selectFrom("role_assignments")
    .selectAll()
    .where("id", "=", assignmentId)
    .forUpdate()
    .executeTakeFirst();
}

/** Ends a role assignment now (never before it started); the row stays as history. */
export function endRoleAssignmentNow(db: Kysely<DB>, assignmentId: string, endedBy: string) {
  return db
    .updateTable("role_assignments")
    .set({ ends_at: sql`greatest(now(), starts_at)`, ended_by: endedBy, version: sql`version + 1` })
    .where("id", "=", assignmentId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every role assignment of a member, past and future included, oldest first. */
export function roleAssignmentsOf(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("role_assignments")
    .selectAll()
    .where("member_id", "=", memberId)
    .orderBy("starts_at")
    .execute();
}

/** Stores an API token by its hash; null capabilities means all of the member's. Returns its id. */
export async function insertApiToken(
  db: Kysely<DB>,
  input: { memberId: string; name: string; tokenHash: string; capabilities: string[] | null },
): Promise<string> {
  const row = await db
    .insertInto("api_tokens")
    .values({
      member_id: input.memberId,
      name: input.name,
      token_hash: input.tokenHash,
      capabilities: input.capabilities,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Revokes a live API token; undefined when there is none with that id (or it is already revoked). */
export function revokeApiTokenRow(db: Kysely<DB>, tokenId: string) {
  if (!UUID.test(tokenId)) return Promise.resolve(undefined);
  return db
    .updateTable("api_tokens")
    .set({ revoked_at: sql`now()` })
    .where("id", "=", tokenId)
    .where("revoked_at", "is", null)
    .returning(["id", "name"])
    .executeTakeFirst();
}
