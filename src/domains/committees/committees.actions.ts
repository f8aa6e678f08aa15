import { sql, type Transaction } from "kysely";
import { defineAction } from "../../core/action.ts";
import { type Actor, actorRef } from "../../core/actor.ts";
import type { Capability } from "../../core/capabilities.ts";
import type { DB } from "../../core/db/schema.ts";
import { ClubError, conflict, invalidInput, notFound, sqlState } from "../../core/errors.ts";
import { isUuid } from "./committees.repository.ts";

/** Creates a committee; names are unique whatever their case. */
export const createCommittee = defineAction({
  name: "createCommittee",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx }, input: { name: string; reason?: string }) {
    const name = input.name?.trim() ?? "";
    if (!name) throw invalidInput("A committee needs a name.");
    if (name.length > 200) throw invalidInput("A committee name has at most 200 characters.");
    const clash = await trx
      .selectFrom("committees")
      .select("name")
      .where(sql`lower(name)`, "=", name.toLowerCase())
      .executeTakeFirst();
    if (clash) throw conflict(`There is already a committee called "${clash.name}".`);
    try {
      const row = await trx
        .insertInto("committees")
        .values({ name })
        .returningAll()
        .executeTakeFirstOrThrow();
      return {
        result: row,
        audit: {
          action: "committee.created",
          subjectType: "committee",
          subjectId: row.id,
          after: { name: row.name },
          reason: input.reason?.trim() || null,
        },
      };
    } catch (error) {
      if (sqlState(error) === "23505") throw conflict(`There is already a committee called "${name}".`);
      throw error;
    }
  },
});

// A chair may manage the committee's events (events/events.policies.ts): appointing or ending one is a
// privilege change, so it needs roles:grant, and nobody hands out event management they lack (INV-3).
const CHAIR_NEEDS: Capability[] = ["roles:grant", "events:manage"];

function assertMayHandleChair(actor: Actor, doing: string): void {
  const missing = CHAIR_NEEDS.filter((c) => !actor.capabilities.has(c));
  if (missing.length > 0) {
    throw new ClubError(
      "grant_exceeds_own",
      `You cannot ${doing} a committee chair: a chair manages the committee's events, so it needs ${missing.join(" and ")}, which you do not hold.`,
      403,
      { missing },
    );
  }
}

/** A term boundary: "YYYY-MM-DD" is a club calendar day (an end date is the last day served, inclusive);
 * anything else must be an ISO date and time. Resolved by the database so time zones are exact. */
async function termTime(
  trx: Transaction<DB>,
  value: string | null | undefined,
  kind: "start" | "end",
  timeZone: string,
): Promise<Date | null> {
  if (value === undefined || value === null || value.trim() === "") return null;
  const text = value.trim();
  const label = kind === "start" ? "The start of the term" : "The end of the term";
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    if (Number.isNaN(Date.parse(text))) throw invalidInput(`${label} is not a valid date.`);
    const days = kind === "end" ? 1 : 0;
    const { rows } = await sql<{ at: Date }>`
      SELECT ((${text}::date + ${days}::int)::timestamp AT TIME ZONE ${timeZone}) AS at`.execute(trx);
    return new Date(rows[0]!.at);
  }
  const at = new Date(text);
  if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(text))
    throw invalidInput(`${label} must be a date like 2026-01-31 or an ISO date and time.`);
  return at;
}

/** The input of an appointment: who (by id or email), which role, and the term. */
export interface AppointInput {
  committeeId: string;
  memberId?: string;
  memberEmail?: string;
  role: string;
  startsAt?: string | null;
  endsAt?: string | null;
  timeZone: string;
  reason?: string;
}

/** Appoints an active member to a committee for a term. Appointments to one committee are serialised
 * by its row lock, so two overlapping terms for the same member can never both be written. */
export const appointToCommittee = defineAction({
  name: "appointToCommittee",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx, actor }, input: AppointInput) {
    if (input.role !== "chair" && input.role !== "member")
      throw invalidInput(`There is no committee role "${input.role}". Use chair or member.`);
    if (input.role === "chair") assertMayHandleChair(actor, "appoint");
    if (!isUuid(input.committeeId)) throw notFound();
    const committee = await trx
      .selectFrom("committees")
      .select(["id", "name"])
      .where("id", "=", input.committeeId)
      .forUpdate()
      .executeTakeFirst();
    if (!committee) throw notFound();
    let memberQuery = trx
      .selectFrom("members")
      .select(["id", "name", "status"])
      .where("deleted_at", "is", null);
    if (input.memberId) {
      if (!isUuid(input.memberId)) throw invalidInput("No member has that id.");
      memberQuery = memberQuery.where("id", "=", input.memberId);
    } else if (input.memberEmail?.trim()) {
      memberQuery = memberQuery.where(sql`lower(email)`, "=", input.memberEmail.trim().toLowerCase());
    } else throw invalidInput("Say who is appointed: a member's email address.");
    const member = await memberQuery.executeTakeFirst();
    if (!member) throw invalidInput("No member has that email address (or id).");
    if (member.status !== "active")
      throw conflict(`${member.name} is ${member.status}; only active members can serve on a committee.`);
    // The database's clock, not this process's: the chair check compares with now() there.
    const startsAt =
      (await termTime(trx, input.startsAt, "start", input.timeZone)) ??
      new Date((await sql<{ at: Date }>`SELECT now() AS at`.execute(trx)).rows[0]!.at);
    const endsAt = await termTime(trx, input.endsAt, "end", input.timeZone);
    if (endsAt && endsAt <= startsAt) throw invalidInput("The term ends before it starts.");
    const overlap = await trx
      .selectFrom("committee_memberships")
      .select(["starts_at", "ends_at"])
      .where("committee_id", "=", committee.id)
      .where("member_id", "=", member.id)
      .where(sql<boolean>`(ends_at IS NULL OR ends_at > ${startsAt})`)
      .$if(endsAt !== null, (q) => q.where("starts_at", "<", endsAt!))
      .executeTakeFirst();
    if (overlap) {
      throw conflict(
        `${member.name} already has a term on ${committee.name} that overlaps these dates. End that term first, or choose dates that do not overlap.`,
      );
    }
    const row = await trx
      .insertInto("committee_memberships")
      .values({
        committee_id: committee.id,
        member_id: member.id,
        role: input.role,
        starts_at: startsAt,
        ends_at: endsAt,
        granted_by: actorRef(actor),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return {
      result: row,
      audit: {
        action: "committee.appointed",
        subjectType: "committee_membership",
        subjectId: row.id,
        after: {
          committeeId: committee.id,
          committee: committee.name,
          memberId: member.id,
          role: row.role,
          startsAt: row.starts_at,
          endsAt: row.ends_at,
        },
        reason: input.reason?.trim() || null,
      },
    };
  },
});

/** Ends a term now (a term that has not started yet is cancelled: it ends where it starts). The row
 * stays, so the committee's history is never lost. */
export const endCommitteeTerm = defineAction({
  name: "endCommitteeTerm",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx, actor }, input: { committeeId: string; termId: string; reason: string }) {
    if (!isUuid(input.committeeId) || !isUuid(input.termId)) throw notFound();
    if (!input.reason?.trim())
      throw invalidInput("Say why the term ends; the reason is kept in the audit log.");
    const term = await trx
      .selectFrom("committee_memberships")
      .selectAll()
      .select(sql<boolean>`ends_at IS NOT NULL AND ends_at <= now()`.as("over"))
      .where("id", "=", input.termId)
      .where("committee_id", "=", input.committeeId)
      .forUpdate()
      .executeTakeFirst();
    if (!term) throw notFound();
    if (term.role === "chair") assertMayHandleChair(actor, "end the term of");
    if (term.over) throw conflict("This term has already ended.");
    const after = await trx
      .updateTable("committee_memberships")
      .set({
        ends_at: sql`greatest(now(), starts_at)`,
        ended_by: actorRef(actor),
        version: sql`version + 1`,
      })
      .where("id", "=", term.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return {
      result: after,
      audit: {
        action: "committee.term_ended",
        subjectType: "committee_membership",
        subjectId: after.id,
        before: { endsAt: term.ends_at },
        after: {
          committeeId: after.committee_id,
          memberId: after.member_id,
          role: after.role,
          endsAt: after.ends_at,
          version: after.version,
        },
        reason: input.reason.trim(),
      },
    };
  },
});
