import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";

/** The events domain's SQL. */

/** An event row, locked for the rest of the transaction: registrations for one event queue here,
 * which is what keeps capacity from ever being exceeded (INV-6). */
export function lockEvent(trx: Transaction<DB>, eventId: string) {
  return trx.selectFrom("events").selectAll().where("id", "=", eventId).forUpdate().executeTakeFirst();
}

/** What clubos_take_place answers: "ok" with the registration, or why there is none. */
export interface TakePlaceResult {
  outcome: string;
  registration_id: string | null;
  reg_status: "confirmed" | "waitlisted" | null;
  wait_position: number | null;
  title: string | null;
  starts_at: Date | null;
  location: string | null;
  member_name: string | null;
  member_email: string | null;
}

/** Reads the member, locks the event, reads its tally and inserts, in one round trip (migrations 0007, 0008). */
export async function takePlace(trx: Transaction<DB>, eventId: string, memberId: string, guests: string[]) {
  const { rows } =
    await sql<TakePlaceResult>`SELECT * FROM clubos_take_place(${eventId}::uuid, ${memberId}::uuid, ${guests}::text[])`.execute(
      trx,
    );
  return rows[0]!;
}

/** Seats taken by confirmed registrations (each one seat plus its guests), from the event's tally
 * (migration 0008); exact while the caller holds the event lock, as every registration change does. */
export async function confirmedSeats(trx: Transaction<DB>, eventId: string): Promise<number> {
  const row = await trx
    .selectFrom("event_tallies")
    .select("confirmed_seats")
    .where("event_id", "=", eventId)
    .executeTakeFirstOrThrow();
  return row.confirmed_seats;
}

/** The member's active (confirmed or waitlisted) registration for an event, if any. */
export function activeRegistration(db: Kysely<DB>, eventId: string, memberId: string) {
  return db
    .selectFrom("registrations")
    .selectAll()
    .where("event_id", "=", eventId)
    .where("member_id", "=", memberId)
    .where("status", "in", ["confirmed", "waitlisted"])
    .executeTakeFirst();
}

/** The first in line, if any. */
export function firstWaitlisted(trx: Transaction<DB>, eventId: string) {
  return trx
    .selectFrom("registrations")
    .selectAll()
    .where("event_id", "=", eventId)
    .where("status", "=", "waitlisted")
    .orderBy("waitlist_position")
    .limit(1)
    .executeTakeFirst();
}

/** Closes the gap a leaving waitlisted registration left, keeping positions 1..n. */
export async function closeWaitlistGap(
  trx: Transaction<DB>,
  eventId: string,
  position: number,
): Promise<void> {
  await trx
    .updateTable("registrations")
    .set({ waitlist_position: sql`waitlist_position - 1`, version: sql`version + 1` })
    .where("event_id", "=", eventId)
    .where("status", "=", "waitlisted")
    .where("waitlist_position", ">", position)
    .execute();
}

/** Member name and email for messages. */
export function memberContact(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("members")
    .select(["id", "name", "email", "status", "deleted_at"])
    .where("id", "=", memberId)
    .executeTakeFirst();
}

/** Events a visitor may see: published (and completed) ones, members-only ones only for members. */
export function listVisibleEvents(db: Kysely<DB>, includeMembersOnly: boolean) {
  let query = db
    .selectFrom("events")
    .selectAll()
    .where("status", "in", ["published", "completed", "cancelled"])
    .orderBy("starts_at")
    .limit(200);
  if (!includeMembersOnly) query = query.where("audience", "=", "public");
  return query.execute();
}

/** One event if the visitor may see it; undefined otherwise, whether absent or hidden. */
export async function findVisibleEvent(
  db: Kysely<DB>,
  eventId: string,
  includeMembersOnly: boolean,
  includeDrafts: boolean,
) {
  if (!UUID.test(eventId)) return undefined;
  const event = await db.selectFrom("events").selectAll().where("id", "=", eventId).executeTakeFirst();
  if (!event) return undefined;
  if (event.status === "draft" && !includeDrafts) return undefined;
  if (event.audience === "members" && !includeMembersOnly) return undefined;
  return event;
}

/** Confirmed seats and waitlist length of an event, for display (from its tally, migration 0008). */
export async function eventCounts(db: Kysely<DB>, eventId: string) {
  const row = await db
    .selectFrom("event_tallies")
    .select(["confirmed_seats", "waitlisted"])
    .where("event_id", "=", eventId)
    .executeTakeFirst();
  return { seats: row?.confirmed_seats ?? 0, waiting: row?.waitlisted ?? 0 };
}
