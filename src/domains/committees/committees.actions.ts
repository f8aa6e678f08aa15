import type { Kysely } from "kysely";
import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import type { DB } from "../../core/db/schema.ts";
import { conflict, invalidInput, notFound, sqlState } from "../../core/errors.ts";
import { findMemberByEmail } from "../identity/identity.repository.ts";
import { findMember } from "../members/members.repository.ts";
import { APPOINTS_CHAIR, ENDS_CHAIR_TERM } from "./committees.policies.ts";
import {
  clubDayStart,
  committeeNamed,
  databaseNow,
  endTerm,
  insertCommittee,
  insertTerm,
  isUuid,
  lockCommittee,
  lockTerm,
  overlappingTerm,
} from "./committees.repository.ts";

/** Creates a committee; names are unique whatever their case. */
export const createCommittee = defineAction({
  name: "createCommittee",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx }, input: { name: string; reason?: string }) {
    const name = input.name?.trim() ?? "";
    if (!name) throw invalidInput("A committee needs a name.");
    if (name.length > 200) throw invalidInput("A committee name has at most 200 characters.");
    const clash = await committeeNamed(trx, name);
    if (clash) throw conflict(`There is already a committee called "${clash.name}".`);
    try {
      const row = await insertCommittee(trx, name);
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

/** A term boundary: "YYYY-MM-DD" is a club calendar day (an end date is the last day served, inclusive);
 * anything else must be an ISO date and time. */
async function termTime(
  db: Kysely<DB>,
  value: string | null | undefined,
  kind: "start" | "end",
  timeZone: string,
): Promise<Date | null> {
  if (value === undefined || value === null || value.trim() === "") return null;
  const text = value.trim();
  const label = kind === "start" ? "The start of the term" : "The end of the term";
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    if (Number.isNaN(Date.parse(text))) throw invalidInput(`${label} is not a valid date.`);
    return clubDayStart(db, text, kind === "end" ? 1 : 0, timeZone);
  }
  const at = new Date(text);
  if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(text))
    throw invalidInput(`${label} must be a date like 2026-01-31 or an ISO date and time.`);
  return at;
}

/** The member an appointment names, by id or by email; only an undeleted member. */
async function appointee(db: Kysely<DB>, input: { memberId?: string; memberEmail?: string }) {
  if (input.memberId) {
    if (!isUuid(input.memberId)) throw invalidInput("No member has that id.");
    return findMember(db, input.memberId);
  }
  if (!input.memberEmail?.trim()) throw invalidInput("Say who is appointed: a member's email address.");
  const member = await findMemberByEmail(db, input.memberEmail);
  return member?.deleted_at ? undefined : member;
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

/** Appoints an active member to a committee for a term; a chair only by those who may hand out what a
 * chair may do. Appointments to one committee are serialised by its row lock, so two overlapping terms
 * for the same member can never both be written. */
export const appointToCommittee = defineAction({
  name: "appointToCommittee",
  access: { capability: "members:write", policy: APPOINTS_CHAIR },
  effect: "admin",
  async run({ trx, actor }, input: AppointInput) {
    if (input.role !== "chair" && input.role !== "member")
      throw invalidInput(`There is no committee role "${input.role}". Use chair or member.`);
    const committee = await lockCommittee(trx, input.committeeId);
    if (!committee) throw notFound();
    const member = await appointee(trx, input);
    if (!member) throw invalidInput("No member has that email address (or id).");
    if (member.status !== "active")
      throw conflict(`${member.name} is ${member.status}; only active members can serve on a committee.`);
    // The database's clock, not this process's: the chair check compares with now() there.
    const startsAt =
      (await termTime(trx, input.startsAt, "start", input.timeZone)) ?? (await databaseNow(trx));
    const endsAt = await termTime(trx, input.endsAt, "end", input.timeZone);
    if (endsAt && endsAt <= startsAt) throw invalidInput("The term ends before it starts.");
    if (await overlappingTerm(trx, { committeeId: committee.id, memberId: member.id, startsAt, endsAt })) {
      throw conflict(
        `${member.name} already has a term on ${committee.name} that overlaps these dates. End that term first, or choose dates that do not overlap.`,
      );
    }
    const row = await insertTerm(trx, {
      committeeId: committee.id,
      memberId: member.id,
      role: input.role,
      startsAt,
      endsAt,
      grantedBy: actorRef(actor),
    });
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

/** Ends a term now (a term that has not started yet is cancelled: it ends where it starts); a chair's
 * only by those who may appoint one. The row stays, so the committee's history is never lost. */
export const endCommitteeTerm = defineAction({
  name: "endCommitteeTerm",
  access: { capability: "members:write", policy: ENDS_CHAIR_TERM },
  effect: "admin",
  async run({ trx, actor }, input: { committeeId: string; termId: string; reason: string }) {
    const reason = input.reason?.trim();
    if (!reason) throw invalidInput("Say why the term ends; the reason is kept in the audit log.");
    const term = await lockTerm(trx, input.committeeId, input.termId);
    if (!term) throw notFound();
    if (term.over) throw conflict("This term has already ended.");
    const after = await endTerm(trx, term.id, actorRef(actor));
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
        reason,
      },
    };
  },
});
