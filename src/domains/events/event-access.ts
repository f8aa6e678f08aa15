import { type Kysely, sql } from "kysely";
import type { Actor } from "../../core/actor.ts";
import type { DB } from "../../core/db/schema.ts";
import { isUuid, termIsCurrent } from "../members/committees.repository.ts";

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
  const row = await db
    .selectFrom("events as e")
    .innerJoin("committee_memberships as cm", "cm.committee_id", "e.committee_id")
    .innerJoin("members as m", "m.id", "cm.member_id")
    .select(sql<number>`1`.as("ok"))
    .where("e.id", "=", eventId)
    .where("cm.member_id", "=", actor.memberId)
    .where("cm.role", "=", "chair")
    .where(termIsCurrent("cm"))
    .where("m.status", "=", "active")
    .where("m.deleted_at", "is", null)
    .executeTakeFirst();
  return row !== undefined;
}
