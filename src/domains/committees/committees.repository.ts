import { type Expression, type Kysely, type SqlBool, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";

/** The committees' SQL (committees and committee_memberships). */

/** True if the string can be a row id; anything else is simply not found (no SQL error, R-2). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The condition "this term is current": started, and not yet ended. Used by every chair check. */
export function termIsCurrent(alias = "committee_memberships"): Expression<SqlBool> {
  const t = sql.ref(alias);
  return sql<SqlBool>`(${t}.starts_at <= now() AND (${t}.ends_at IS NULL OR ${t}.ends_at > now()))`;
}

/** The next moment termIsCurrent changes for the terms of this table (alias) of the member in
 * `memberRef`, by the clock alone: the earliest start or end still ahead of now(), or null. */
export function termsChangeAt(table: "committee_memberships", memberRef: string) {
  return sql<Date | null>`(SELECT min(b.at) FROM ${sql.table(table)} t
    CROSS JOIN LATERAL (VALUES (t.starts_at), (t.ends_at)) AS b(at)
    WHERE t.member_id = ${sql.ref(memberRef)} AND b.at > now())`;
}

/** The member's chair terms that give rights right now: started, not ended, and the member active and
 * not deleted. Every chair check starts here, so they cannot disagree about who is a chair; other domains
 * join it to what a chair may manage (events: events.committee_id). */
export function currentChairTerms(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("committee_memberships as cm")
    .innerJoin("members as m", "m.id", "cm.member_id")
    .where("cm.member_id", "=", memberId)
    .where("cm.role", "=", "chair")
    .where(termIsCurrent("cm"))
    .where("m.status", "=", "active")
    .where("m.deleted_at", "is", null);
}

/** The committees this member chairs right now, by name. */
export function chairedCommittees(db: Kysely<DB>, memberId: string): Promise<{ id: string; name: string }[]> {
  return currentChairTerms(db, memberId)
    .innerJoin("committees as c", "c.id", "cm.committee_id")
    .select(["c.id", "c.name"])
    .groupBy(["c.id", "c.name"]) // overlapping terms in one committee still list it once
    .orderBy(sql`lower(c.name)`)
    .orderBy("c.id")
    .execute();
}

/** Does this member chair this committee right now? False for malformed or unknown ids. */
export async function chairsCommittee(
  db: Kysely<DB>,
  memberId: string,
  committeeId: string,
): Promise<boolean> {
  if (!isUuid(committeeId)) return false;
  const row = await currentChairTerms(db, memberId)
    .select(sql<number>`1`.as("ok"))
    .where("cm.committee_id", "=", committeeId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Committees by name, with how many members serve on each now. */
export function listCommittees(db: Kysely<DB>) {
  return db
    .selectFrom("committees as c")
    .select(["c.id", "c.name", "c.created_at"])
    .select(
      sql<number>`(SELECT count(*)::int FROM committee_memberships cm
                   WHERE cm.committee_id = c.id AND ${termIsCurrent("cm")})`.as("current_members"),
    )
    .orderBy(sql`lower(c.name)`)
    .orderBy("c.id")
    .execute();
}

/** One committee, or undefined. */
export function findCommittee(db: Kysely<DB>, id: string) {
  if (!isUuid(id)) return Promise.resolve(undefined);
  return db.selectFrom("committees").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Every term of a committee with the member's name: current first, then upcoming, then ended. */
export function committeeTerms(db: Kysely<DB>, committeeId: string) {
  const state = sql<"current" | "upcoming" | "ended">`CASE
    WHEN cm.starts_at > now() AND (cm.ends_at IS NULL OR cm.ends_at > cm.starts_at) THEN 'upcoming'
    WHEN ${termIsCurrent("cm")} THEN 'current'
    ELSE 'ended' END`;
  return db
    .selectFrom("committee_memberships as cm")
    .innerJoin("members as m", "m.id", "cm.member_id")
    .select([
      "cm.id",
      "cm.member_id",
      "m.name as member_name",
      "m.email as member_email",
      "cm.role",
      "cm.starts_at",
      "cm.ends_at",
      "cm.granted_by",
      "cm.ended_by",
      "cm.version",
    ])
    .select(state.as("state"))
    .where("cm.committee_id", "=", committeeId)
    .orderBy(sql`CASE ${state} WHEN 'current' THEN 0 WHEN 'upcoming' THEN 1 ELSE 2 END`)
    .orderBy(sql`CASE cm.role WHEN 'chair' THEN 0 ELSE 1 END`)
    .orderBy("cm.starts_at", "desc")
    .orderBy("cm.id")
    .execute();
}

/** The committee with this name, whatever its case, if there is one. */
export function committeeNamed(db: Kysely<DB>, name: string) {
  return db
    .selectFrom("committees")
    .select("name")
    .where(sql`lower(name)`, "=", name.toLowerCase())
    .executeTakeFirst();
}

/** A new committee. */
export function insertCommittee(trx: Transaction<DB>, name: string) {
  return trx.insertInto("committees").values({ name }).returningAll().executeTakeFirstOrThrow();
}

/** A committee, locked: appointments to one committee are serialised by it. */
export function lockCommittee(trx: Transaction<DB>, id: string) {
  if (!isUuid(id)) return Promise.resolve(undefined);
  return trx
    .selectFrom("committees")
    .select(["id", "name"])
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
}

/** A term of this member on this committee that overlaps [startsAt, endsAt) (endsAt null: open-ended). */
export function overlappingTerm(
  db: Kysely<DB>,
  term: { committeeId: string; memberId: string; startsAt: Date; endsAt: Date | null },
) {
  return db
    .selectFrom("committee_memberships")
    .select(["starts_at", "ends_at"])
    .where("committee_id", "=", term.committeeId)
    .where("member_id", "=", term.memberId)
    .where(sql<boolean>`(ends_at IS NULL OR ends_at > ${term.startsAt})`)
    .$if(term.endsAt !== null, (q) => q.where("starts_at", "<", term.endsAt!))
    .executeTakeFirst();
}

/** A new term. */
export function insertTerm(
  trx: Transaction<DB>,
  term: {
    committeeId: string;
    memberId: string;
    role: string;
    startsAt: Date;
    endsAt: Date | null;
    grantedBy: string;
  },
) {
  return trx
    .insertInto("committee_memberships")
    .values({
      committee_id: term.committeeId,
      member_id: term.memberId,
      role: term.role,
      starts_at: term.startsAt,
      ends_at: term.endsAt,
      granted_by: term.grantedBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** One term of a committee, or undefined (also for malformed ids). */
export function findTerm(db: Kysely<DB>, committeeId: string, termId: string) {
  if (!isUuid(committeeId) || !isUuid(termId)) return Promise.resolve(undefined);
  return db
    .selectFrom("committee_memberships")
    .selectAll()
    .where("id", "=", termId)
    .where("committee_id", "=", committeeId)
    .executeTakeFirst();
}

/** One term of a committee, locked, with whether it is already over. */
export function lockTerm(trx: Transaction<DB>, committeeId: string, termId: string) {
  if (!isUuid(committeeId) || !isUuid(termId)) return Promise.resolve(undefined);
  return trx
    .selectFrom("committee_memberships")
    .selectAll()
    .select(sql<boolean>`ends_at IS NOT NULL AND ends_at <= now()`.as("over"))
    .where("id", "=", termId)
    .where("committee_id", "=", committeeId)
    .forUpdate()
    .executeTakeFirst();
}

/** Ends a term now (a term that has not started ends where it starts). */
export function endTerm(trx: Transaction<DB>, termId: string, endedBy: string) {
  return trx
    .updateTable("committee_memberships")
    .set({ ends_at: sql`greatest(now(), starts_at)`, ended_by: endedBy, version: sql`version + 1` })
    .where("id", "=", termId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The instant a club calendar day (plus some days) begins in the club's zone, computed by the database
 * so time zones and their changes are exact. */
export async function clubDayStart(db: Kysely<DB>, day: string, plusDays: number, timeZone: string) {
  const { rows } = await sql<{ at: Date }>`
    SELECT ((${day}::date + ${plusDays}::int)::timestamp AT TIME ZONE ${timeZone}) AS at`.execute(db);
  return new Date(rows[0]!.at);
}

/** The database's clock: what the chair checks compare with. */
export async function databaseNow(db: Kysely<DB>): Promise<Date> {
  const { rows } = await sql<{ at: Date }>`SELECT now() AS at`.execute(db);
  return new Date(rows[0]!.at);
}
