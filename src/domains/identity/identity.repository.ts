import { type Kysely, sql } from "kysely";
import type { RoleKey } from "../../core/capabilities.ts";
import { contentVersionOf } from "../../core/db/content-versions.ts";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { hasMemberRights } from "../members/members.repository.ts";

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

/** The role membership itself carries: held by every member whose status has the member rights,
 * without a grant. Admin roles are only ever granted. */
export const MEMBERSHIP_ROLE: RoleKey = "member";

/** The role keys of the `members` row in the surrounding query, sorted and distinct: the membership role
 * when the member's status carries the member rights (members' STATUSES_WITH_MEMBER_RIGHTS), and the
 * granted roles whose term covers now, which also count only in such a status. Read with the session or
 * token on every signed-in request (it saves a round trip), so a lapse or suspension takes effect on the
 * next request. */
const roleKeysOfMember = () => sql<string[]>`ARRAY(
  SELECT ra.role_key FROM role_assignments ra
  WHERE ra.member_id = members.id AND members.deleted_at IS NULL AND ${hasMemberRights()}
    AND ra.starts_at <= now() AND (ra.ends_at IS NULL OR ra.ends_at > now())
  UNION
  SELECT ${MEMBERSHIP_ROLE}::text WHERE members.deleted_at IS NULL AND ${hasMemberRights()}
  ORDER BY 1)`;

/** When the role keys of the `members` row in the surrounding query next change by the clock alone: the
 * earliest start or end of one of its role terms still ahead of now(), or null. What was read with the
 * keys may be used only until then (a term that begins or ends changes them without any write). */
const roleKeysChangeAt = () => sql<Date | null>`(SELECT min(b.at) FROM role_assignments ra
  CROSS JOIN LATERAL (VALUES (ra.starts_at), (ra.ends_at)) AS b(at)
  WHERE ra.member_id = members.id AND b.at > now())`;

/** The same, for other domains' queries on the `members` table. */
export const roleKeysOfMembersRowChangeAt = () => roleKeysChangeAt();

/** The same expression, for other domains' queries on the `members` table (page audiences name roles). */
export const roleKeysOfMembersRow = () => roleKeysOfMember();

/** The role keys a member holds now (roleKeysOfMember); sorted for determinism. */
export async function activeRoleKeys(db: Kysely<DB>, memberId: string): Promise<string[]> {
  const row = await db
    .selectFrom("members")
    .select(roleKeysOfMember().as("roleKeys"))
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
      roles === "with roles" ? roleKeysOfMember().as("roleKeys") : sql<null>`NULL`.as("roleKeys"),
      roles === "with roles" ? roleKeysChangeAt().as("rolesChangeAt") : sql<null>`NULL`.as("rolesChangeAt"),
      // The access version of this very snapshot: the row may be kept under it (authenticate.ts).
      contentVersionOf("access").as("accessVersion"),
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
 * last seen, by the database's clock as read with it, a session seen since sends no statement at all.
 * True when it sent the statement. It sets last_seen_at alone, which changes no content version. */
export async function touchSession(
  db: Kysely<DB>,
  session: { sessionId: string; lastSeenAt: Date; now: Date },
): Promise<boolean> {
  const seenAgoMs = new Date(session.now).getTime() - new Date(session.lastSeenAt).getTime();
  if (seenAgoMs < TOUCH_EVERY_SECONDS * 1000) return false;
  await db
    .updateTable("sessions")
    .set({ last_seen_at: sql`now()` })
    .where("id", "=", session.sessionId)
    .where("last_seen_at", "<", sql<Date>`now() - make_interval(secs => ${TOUCH_EVERY_SECONDS})`)
    .execute();
  return true;
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
      roles === "with roles" ? roleKeysOfMember().as("roleKeys") : sql<null>`NULL`.as("roleKeys"),
    ])
    .where("api_tokens.token_hash", "=", tokenHash)
    .executeTakeFirst();
}

/** How one throttle slows down: the failures let through without delay, the delay after them (doubling
 * with each further failure, up to the cap), and the quiet time after which failures are forgotten. */
export interface ThrottleRule {
  freeFailures: number;
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  forgetAfterMinutes: number;
}

/** The wait after `failures` failures under a rule, as SQL over the row `t`: doubling from the first
 * delay (the exponent capped so it never overflows), never above the cap. */
function delayAfter(rule: ThrottleRule) {
  return sql`make_interval(secs => least(${rule.maxDelaySeconds}::float8,
    ${rule.firstDelaySeconds}::float8 * power(2::float8, least(t.failures - ${rule.freeFailures}, 30))))`;
}

/** Counts one attempt against a throttle if the throttle lets it go ahead now, in one statement: the
 * upsert locks the row, so of concurrent attempts each sees the count the one before it left, and no
 * more than the rule allows get through. The attempt counts as a failure until settled
 * (settleThrottleAttempt). Returns null when it may go ahead, or the seconds to wait. */
export async function claimThrottleAttempt(
  db: Kysely<DB>,
  input: { key: string; emailKey: string | null; rule: ThrottleRule },
): Promise<number | null> {
  const { rule } = input;
  const forgotten = sql`t.last_failure_at < now() - make_interval(mins => ${rule.forgetAfterMinutes})`;
  const claimed = await sql<{ failures: number }>`
    INSERT INTO login_throttles AS t (key, email_key, failures, last_failure_at)
    VALUES (${input.key}, ${input.emailKey}, 1, now())
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN t.last_failure_at IS NULL OR ${forgotten} THEN 1 ELSE t.failures + 1 END,
      last_failure_at = now()
    WHERE t.last_failure_at IS NULL OR ${forgotten} OR t.failures < ${rule.freeFailures}
      OR now() >= t.last_failure_at + ${delayAfter(rule)}
    RETURNING t.failures`.execute(db);
  if (claimed.rows.length > 0) return null;
  const wait = await sql<{ seconds: number }>`
    SELECT greatest(1, ceil(extract(epoch FROM t.last_failure_at + ${delayAfter(rule)} - now())))::int AS seconds
    FROM login_throttles t WHERE t.key = ${input.key}`.execute(db);
  return Number(wait.rows[0]?.seconds ?? 1);
}

/** Settles a claimed attempt whose password was right: the account's own throttles start again from
 * nothing ("reset"); an address only gets back the one attempt it was charged ("undo"), so signing in to
 * one's own account never buys more guesses at others'. */
export async function settleThrottleAttempt(db: Kysely<DB>, key: string, how: "reset" | "undo") {
  await db
    .updateTable("login_throttles")
    .set(
      how === "reset" ? { failures: 0, last_failure_at: null } : { failures: sql`greatest(failures - 1, 0)` },
    )
    .where("key", "=", key)
    .execute();
}

/** Ends every throttle on an account (its own, at known addresses, on its browsers); returns how many
 * were slowing it down. Addresses stay throttled: they guess at other accounts too. */
export async function deleteThrottlesOfEmail(db: Kysely<DB>, emailKey: string): Promise<number> {
  const rows = await db
    .deleteFrom("login_throttles")
    .where("email_key", "=", emailKey)
    .returning("failures")
    .execute();
  return rows.filter((r) => r.failures > 0).length;
}

/** How much an account's logins are slowed down now: the failures counted against its throttles (its
 * own, at known addresses, on its browsers) and the last of them; null when nothing slows it down. */
export async function throttleStateOf(db: Kysely<DB>, emailKey: string) {
  const row = await db
    .selectFrom("login_throttles")
    .select([
      sql<number>`max(failures)`.as("failures"),
      sql<Date | null>`max(last_failure_at)`.as("lastFailureAt"),
    ])
    .where("email_key", "=", emailKey)
    .where("failures", ">", 0)
    .executeTakeFirst();
  return row?.lastFailureAt ? { failures: Number(row.failures), lastFailureAt: row.lastFailureAt } : null;
}

/** True when this account signed in successfully from this address before. */
export async function signedInFromBefore(db: Kysely<DB>, emailKey: string, ip: string): Promise<boolean> {
  const row = await db
    .selectFrom("login_attempts")
    .select("id")
    .where("email_key", "=", emailKey)
    .where("ip", "=", ip)
    .where("succeeded", "=", true)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** True when the browser token belongs to a browser that signed in to this account before; marks it used. */
export async function isKnownDevice(db: Kysely<DB>, tokenHash: string, emailKey: string): Promise<boolean> {
  const row = await db
    .updateTable("login_devices")
    .set({ last_used_at: sql`now()` })
    .where("token_hash", "=", tokenHash)
    .where("email_key", "=", emailKey)
    .returning("token_hash")
    .executeTakeFirst();
  return row !== undefined;
}

/** Remembers a browser that just signed in to this account. */
export async function insertDevice(db: Kysely<DB>, tokenHash: string, emailKey: string): Promise<void> {
  await db.insertInto("login_devices").values({ token_hash: tokenHash, email_key: emailKey }).execute();
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
    .where(hasMemberRights("m.status"))
    .where("m.deleted_at", "is", null)
    .orderBy("m.id")
    .execute();
  return rows.map((r) => r.id);
}

/** Ends every live session, with a reason (restore); returns how many ended. */
export async function endEverySession(db: Kysely<DB>, reason: string): Promise<number> {
  const rows = await db
    .updateTable("sessions")
    .set({ ended_at: sql`now()`, ended_reason: reason })
    .where("ended_at", "is", null)
    .returning("id")
    .execute();
  return rows.length;
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

/** The API tokens that work now: read before a restore, so that a token revoked (or gone) since the
 * backup was taken stays revoked after it. */
export async function liveApiTokenIds(db: Kysely<DB>): Promise<string[]> {
  const rows = await db.selectFrom("api_tokens").select("id").where("revoked_at", "is", null).execute();
  return rows.map((r) => r.id);
}

/** After a restore: revokes every restored token that was not live before it; how many. */
export async function revokeTokensNotLiveIn(trx: Kysely<DB>, live: string[]): Promise<number> {
  let query = trx.updateTable("api_tokens").set({ revoked_at: sql`now()` }).where("revoked_at", "is", null);
  if (live.length > 0) query = query.where("id", "not in", live);
  const rows = await query.returning("id").execute();
  return rows.length;
}
