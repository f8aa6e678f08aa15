import { type Kysely, sql } from "kysely";
import type { Actor } from "../../core/actor.ts";
import type { DB } from "../../core/db/schema.ts";
import { ClubError, forbidden } from "../../core/errors.ts";
import { findCommittee, isUuid, termIsCurrent } from "../members/committees.repository.ts";

/** The member's chair terms that give rights right now: started, not ended, and the member active and
 * not deleted. Every chair check starts here, so they cannot disagree about who is a chair. */
function currentChairTerms(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("committee_memberships as cm")
    .innerJoin("members as m", "m.id", "cm.member_id")
    .where("cm.member_id", "=", memberId)
    .where("cm.role", "=", "chair")
    .where(termIsCurrent("cm"))
    .where("m.status", "=", "active")
    .where("m.deleted_at", "is", null);
}

/**
 * May this actor manage (edit, publish, cancel, run) this event?
 *
 * - true for anyone holding `events:manage` (the global capability: events chair, full admin, operator);
 * - true for a member who is, right now, a chair of the committee the event belongs to
 *   (events.committee_id): their term has started and not ended, and they are an active, undeleted member;
 * - false otherwise, including for an event with no committee, an unknown or malformed id, and terms
 *   that ended or have not yet started (S-1: it denies, never infers).
 *
 * How to use it (events helper team): a route for committee chairs cannot require `events:manage` in
 * its declaration, or chairs never reach the handler. Declare such a route with capability
 * "authenticated" (or "admin:access"), load the event, then `if (!(await canManageEvent(db, actor, id)))
 * throw notFound()` (or forbidden) before doing anything. Inside an action, call it with the action's
 * `trx` so the check and the write see the same data; the action's own capability should then be
 * "self"-like (any member), since this function is the real gate. Pass `db` as a Kysely or a
 * Transaction; it only reads.
 */
export async function canManageEvent(db: Kysely<DB>, actor: Actor, eventId: string): Promise<boolean> {
  if (actor.capabilities.has("events:manage")) return true;
  if (actor.type !== "member" || !isUuid(eventId)) return false;
  const row = await currentChairTerms(db, actor.memberId)
    .innerJoin("events as e", "e.committee_id", "cm.committee_id")
    .select(sql<number>`1`.as("ok"))
    .where("e.id", "=", eventId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The committees this actor chairs right now (same rules as canManageEvent), by name; empty for anyone
 * who is not a member. */
export async function chairedCommittees(
  db: Kysely<DB>,
  actor: Actor,
): Promise<{ id: string; name: string }[]> {
  if (actor.type !== "member") return [];
  return currentChairTerms(db, actor.memberId)
    .innerJoin("committees as c", "c.id", "cm.committee_id")
    .select(["c.id", "c.name"])
    .groupBy(["c.id", "c.name"]) // overlapping terms in one committee still list it once
    .orderBy(sql`lower(c.name)`)
    .orderBy("c.id")
    .execute();
}

/** Does this actor chair this committee right now? False for malformed or unknown ids. */
export async function chairsCommittee(db: Kysely<DB>, actor: Actor, committeeId: string): Promise<boolean> {
  if (actor.type !== "member" || !isUuid(committeeId)) return false;
  const row = await currentChairTerms(db, actor.memberId)
    .select(sql<number>`1`.as("ok"))
    .where("cm.committee_id", "=", committeeId)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The committee a new event may be created for, or null for none; throws otherwise. The gate of
 * createEvent (S-1):
 * - with `events:manage`: any existing committee, or none; an unknown or malformed id is a 422 unknown_committee;
 * - without it: only a committee the actor chairs right now. Everything else, no committee included,
 *   is the same 403, so it never tells whether a committee exists.
 */
export async function committeeForNewEvent(
  db: Kysely<DB>,
  actor: Actor,
  committeeId: string | null | undefined,
): Promise<string | null> {
  const id = typeof committeeId === "string" && committeeId.trim() ? committeeId.trim() : null;
  if (!actor.capabilities.has("events:manage")) {
    if (id === null || !(await chairsCommittee(db, actor, id))) throw forbidden("events:manage");
    return id;
  }
  if (id !== null && !(await findCommittee(db, id))) {
    throw new ClubError(
      "unknown_committee",
      "There is no such committee. Choose one from the list, or no committee, and try again.",
      422,
      { field: "committeeId" },
    );
  }
  return id;
}
