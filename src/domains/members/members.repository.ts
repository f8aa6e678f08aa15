import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { termIsCurrent } from "../committees/committees.repository.ts";
import { type MemberStatus, STATUSES_WITH_MEMBER_RIGHTS } from "./member-status.ts";

/** The members domain's SQL: members, their status history and the membership tiers. */

/** SQL true when the member whose status column is given (by default `members.status` of the surrounding
 * query) holds the member rights: the one rule of STATUSES_WITH_MEMBER_RIGHTS, for queries that decide
 * access (the identity domain's role read, the directory). */
export function hasMemberRights(statusColumn = "members.status") {
  return sql<boolean>`${sql.ref(statusColumn)} IN (${sql.join(STATUSES_WITH_MEMBER_RIGHTS.map((s) => sql`${s}`))})`;
}

/** Whether the club has any member record yet (deleted ones count): a new club has none. */
export async function hasAnyMember(db: Kysely<DB>): Promise<boolean> {
  return (await db.selectFrom("members").select("id").limit(1).executeTakeFirst()) !== undefined;
}

/** One member by id, undeleted unless asked. */
export function findMember(db: Kysely<DB>, id: string, includeDeleted = false) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  let query = db.selectFrom("members").selectAll().where("id", "=", id);
  if (!includeDeleted) query = query.where("deleted_at", "is", null);
  return query.executeTakeFirst();
}

/** A member row as the database holds it. */
export type MemberRow = NonNullable<Awaited<ReturnType<typeof findMember>>>;

/** An undeleted member, locked for the rest of the transaction; undefined for an unknown or malformed id. */
export function lockMember(trx: Transaction<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return trx
    .selectFrom("members")
    .selectAll()
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .forUpdate()
    .executeTakeFirst();
}

/** True when another member (deleted or not) has this email, whatever its case. */
export async function emailTakenByOther(db: Kysely<DB>, email: string, memberId: string): Promise<boolean> {
  const row = await db
    .selectFrom("members")
    .select("id")
    .where(sql`lower(email)`, "=", email.toLowerCase())
    .where("id", "!=", memberId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Writes changed columns of a member and moves its version on (W-4). */
export function updateMemberColumns(trx: Transaction<DB>, id: string, values: Record<string, unknown>) {
  return trx
    .updateTable("members")
    .set({ ...values, version: sql`version + 1` })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Records a status change in the history table; the caller has checked the transition. */
export async function recordStatusChange(
  trx: Transaction<DB>,
  memberId: string,
  from: string | null,
  to: string,
  reason: string,
  by: string,
) {
  await trx
    .insertInto("member_status_history")
    .values({ member_id: memberId, from_status: from, to_status: to, reason, changed_by: by })
    .execute();
}

/** Sets a member's status, moves its version on and records the change in the history, in one go. */
export async function setMemberStatus(
  trx: Transaction<DB>,
  change: { memberId: string; from: string; to: MemberStatus; reason: string; by: string },
) {
  const after = await trx
    .updateTable("members")
    .set({ status: change.to, version: sql`version + 1` })
    .where("id", "=", change.memberId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordStatusChange(trx, after.id, change.from, after.status, change.reason, change.by);
  return after;
}

/** The details a new member may start with besides name, email and status. */
export type MemberDetails = Partial<{
  phone: string;
  address: string;
  joined_on: string;
  tier_key: string | null;
  renewal_due_on: string | null;
  admin_notes: string;
  directory_opt_out: boolean;
}>;

/** The one way a member row comes to exist (INV-1, INV-2): the row, and its first status history entry
 * naming why and by whom. Callers have checked the fields (member-fields.ts) and that the email is free. */
export async function insertMember(
  trx: Transaction<DB>,
  member: {
    name: string;
    email: string;
    status: MemberStatus;
    reason: string;
    by: string;
    details?: MemberDetails;
  },
): Promise<MemberRow> {
  const row = await trx
    .insertInto("members")
    .values({ ...member.details, name: member.name, email: member.email, status: member.status })
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordStatusChange(trx, row.id, null, row.status, member.reason, member.by);
  return row;
}

/** Sets or clears a member's deleted_at; undefined when the member is not in the other state. */
export function setDeleted(trx: Transaction<DB>, memberId: string, deleted: boolean) {
  if (!UUID.test(memberId)) return Promise.resolve(undefined);
  return trx
    .updateTable("members")
    .set({ deleted_at: deleted ? sql`now()` : null, version: sql`version + 1` })
    .where("id", "=", memberId)
    .where("deleted_at", deleted ? "is" : "is not", null)
    .returning(["id", "email"])
    .executeTakeFirst();
}

/** Filters and paging of the admin member list. */
export interface MemberListQuery {
  search?: string;
  status?: MemberStatus;
  /** List deleted members instead of current ones (to find one to restore). */
  deleted?: boolean;
  tier?: string;
  /** Only members serving on this committee now (a current term, any role); a malformed id matches
   * nobody. */
  committeeId?: string;
  sort: "name" | "joined";
  /** Keyset cursor: the last row of the previous page. */
  after?: { key: string; id: string };
  limit: number;
}

const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** A page of the admin list, keyset-paginated so it stays fast at 100,000 members. */
export async function listMembers(db: Kysely<DB>, q: MemberListQuery) {
  if (q.committeeId && !UUID.test(q.committeeId)) return [];
  const joined = q.sort === "joined";
  const sortKey = joined ? sql<string>`joined_on` : sql<string>`lower(name)`;
  let query = db
    .selectFrom("members")
    .select(["id", "name", "email", "status", "tier_key", "joined_on", "renewal_due_on", "version"])
    .select((joined ? sql<string>`joined_on::text` : sortKey).as("sort_key"))
    .where("deleted_at", q.deleted ? "is not" : "is", null)
    .orderBy(sortKey)
    .orderBy("id")
    .limit(q.limit);
  if (q.search) {
    const like = likePattern(q.search);
    query = query.where((eb) =>
      eb.or([eb(sql`lower(name)`, "like", like), eb(sql`lower(email)`, "like", like)]),
    );
  }
  if (q.status) query = query.where("status", "=", q.status);
  if (q.tier) query = query.where("tier_key", "=", q.tier);
  // Driven from the committee's memberships (few rows) rather than filtering every member.
  if (q.committeeId) query = query.where("id", "in", currentCommitteeMembers(db, q.committeeId));
  if (q.after) {
    const key = joined ? sql`${q.after.key}::date` : sql`${q.after.key}`;
    query = query.where(sql`(${sortKey}, id)`, ">", sql`(${key}, ${q.after.id}::uuid)`);
  }
  return query.execute();
}

/** One row of the admin list. */
export type MemberListRow = Awaited<ReturnType<typeof listMembers>>[number];

/** Ids of members serving on a committee now (a current term, any role). */
function currentCommitteeMembers(db: Kysely<DB>, committeeId: string) {
  return db
    .selectFrom("committee_memberships as cm")
    .select("cm.member_id")
    .where("cm.committee_id", "=", committeeId)
    .where(termIsCurrent("cm"));
}

/** The member directory: active members who did not opt out, by name; optionally only those serving
 * on a committee now (a current term, any role; a malformed id matches nobody). */
export async function directory(
  db: Kysely<DB>,
  search: string | undefined,
  limit = 100,
  committeeId?: string,
) {
  if (committeeId && !UUID.test(committeeId)) return [];
  let query = db
    .selectFrom("members")
    .select(["id", "name", "email", "phone"])
    .where("deleted_at", "is", null)
    .where(hasMemberRights("members.status"))
    .where("directory_opt_out", "=", false)
    .orderBy(sql`lower(name)`)
    .orderBy("id")
    .limit(limit);
  if (search) query = query.where(sql`lower(name)`, "like", likePattern(search));
  if (committeeId) query = query.where("id", "in", currentCommitteeMembers(db, committeeId));
  return query.execute();
}

/** A member's status history, oldest first. */
export function statusHistory(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("member_status_history")
    .selectAll()
    .where("member_id", "=", memberId)
    .orderBy("changed_at")
    .execute();
}

/** The tiers, by name. */
export function listTiers(db: Kysely<DB>) {
  return db.selectFrom("membership_tiers").selectAll().orderBy("name").execute();
}

/** One tier, or undefined. */
export function findTier(db: Kysely<DB>, key: string) {
  return db.selectFrom("membership_tiers").selectAll().where("key", "=", key).executeTakeFirst();
}

/** An undeleted member as renewing reads it, locked: the due date as a calendar day. */
export function lockForRenewal(trx: Transaction<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return trx
    .selectFrom("members")
    .select(["id", "status", "version", "tier_key", sql<string | null>`renewal_due_on::text`.as("due_on")])
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .forUpdate()
    .executeTakeFirst();
}

/** Moves a member's due date on by a number of months from a day, and sets their status. */
export function extendRenewal(
  trx: Transaction<DB>,
  change: { memberId: string; from: string; months: number; status: string },
) {
  return trx
    .updateTable("members")
    .set({
      // PostgreSQL clamps month ends (31 January + 1 month = 28 or 29 February), as people expect.
      renewal_due_on: sql`(${change.from}::date + make_interval(months => ${change.months}::int))::date`,
      status: change.status,
      version: sql`version + 1`,
    })
    .where("id", "=", change.memberId)
    .returning([
      "id",
      "name",
      "status",
      "tier_key",
      "version",
      sql<string>`renewal_due_on::text`.as("due_on"),
    ])
    .executeTakeFirstOrThrow();
}

/** The rows of the member export: undeleted members by email, dates as calendar days. */
export function exportRows(db: Kysely<DB>) {
  return db
    .selectFrom("members")
    .select(["name", "email", "phone", "address", "status"])
    .select([
      sql<string>`coalesce(tier_key, '')`.as("tier"),
      sql<string>`joined_on::text`.as("joined_on"),
      sql<string>`coalesce(renewal_due_on::text, '')`.as("renewal_due_on"),
    ])
    .where("deleted_at", "is", null)
    .orderBy(sql`lower(email)`)
    .execute();
}

/** Active, undeleted members whose renewal date is before the given club day. */
function pastDue(db: Kysely<DB>, today: string) {
  return db
    .selectFrom("members")
    .where("status", "=", "active")
    .where("deleted_at", "is", null)
    .where("renewal_due_on", "<", today);
}

/** How many members are past due. */
export async function countPastDue(db: Kysely<DB>, today: string): Promise<number> {
  const row = await pastDue(db, today)
    .select((eb) => eb.fn.countAll<number>().as("total"))
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

/** The next past-due members after an id, in id order (keyset), with their due date. */
export function pastDueAfter(db: Kysely<DB>, today: string, afterId: string, limit: number) {
  return pastDue(db, today)
    .select(["id", sql<string>`renewal_due_on::text`.as("due_on")])
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
}

/** True if the member is still active and past due, locking their row for the change that follows. */
export async function lockIfPastDue(trx: Transaction<DB>, memberId: string, today: string): Promise<boolean> {
  const row = await pastDue(trx, today)
    .select("id")
    .where("id", "=", memberId)
    .forUpdate()
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether a member wants announcements (their own choice on "My details"): false for a member who
 * turned them off, and for an unknown or deleted member. Transactional mail (registrations, resets)
 * does not ask: it is always sent. For the announcements feature, which skips and counts the others. */
export async function acceptsAnnouncements(db: Kysely<DB>, memberId: string): Promise<boolean> {
  if (!UUID.test(memberId)) return false;
  const row = await db
    .selectFrom("members")
    .select("email_announcements")
    .where("id", "=", memberId)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  return row?.email_announcements === true;
}

/** Sets a member's announcements choice; returns the row before and after, or undefined for no member. */
export async function setEmailAnnouncements(trx: Transaction<DB>, memberId: string, on: boolean) {
  const before = await lockMember(trx, memberId);
  if (!before) return undefined;
  const after = await trx
    .updateTable("members")
    .set({ email_announcements: on })
    .where("id", "=", memberId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { before, after };
}
