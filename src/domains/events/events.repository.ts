import { type Kysely, sql, type Transaction } from "kysely";
import type { AuditContext, OutboxDraft } from "../../core/audit.ts";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import type { waitlistEmailAroundPosition } from "./events.messages.ts";

/** The events domain's SQL. */

/** An event row, locked for the rest of the transaction: registrations for one event queue here,
 * which is what keeps capacity from ever being exceeded (INV-6). */
export function lockEvent(trx: Transaction<DB>, eventId: string) {
  return trx.selectFrom("events").selectAll().where("id", "=", eventId).forUpdate().executeTakeFirst();
}

/** What registering needs before the event is locked: the member's contact and the event's details
 * for the messages, and the event's version so the statement can tell whether they are still current. */
export function registrationContext(db: Kysely<DB>, eventId: string, memberId: string) {
  return db
    .selectFrom("members as m")
    .crossJoin("events as e")
    .select(["m.name", "m.email", "e.title", "e.starts_at", "e.location", "e.version"])
    .where("m.id", "=", memberId)
    .where("m.deleted_at", "is", null)
    .where("e.id", "=", eventId)
    .where("e.status", "<>", "draft")
    .executeTakeFirst();
}

/** What clubos_register answers: "ok" with the place and the audit entry it wrote, or why not. */
export interface RegisterResult {
  outcome: string;
  reg_status: "confirmed" | "waitlisted" | null;
  wait_position: number | null;
  audit_id: string | null;
}

/** Registration as one statement (migration 0011): take the place under the event lock, write the audit
 * entry and the message that fits, so the lock is held for this statement and the commit only. */
export async function register(
  trx: Transaction<DB>,
  args: {
    registrationId: string;
    eventId: string;
    memberId: string;
    guests: string[];
    eventVersion: number;
    audit: AuditContext & { after: Record<string, unknown> };
    confirmed: OutboxDraft;
    waitlisted: ReturnType<typeof waitlistEmailAroundPosition>;
  },
): Promise<RegisterResult> {
  const { rows } = await sql<RegisterResult>`SELECT * FROM clubos_register(${args.registrationId}::uuid,
    ${args.eventId}::uuid, ${args.memberId}::uuid, ${args.guests}::text[], ${args.eventVersion}::integer,
    ${JSON.stringify(args.audit)}::jsonb, ${JSON.stringify(args.confirmed)}::jsonb,
    ${JSON.stringify(args.waitlisted)}::jsonb)`.execute(trx);
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

/** What a registration's row becomes when it is cancelled, whoever cancels it. */
export const CANCELLED = {
  status: "cancelled",
  waitlist_position: null,
  cancelled_at: sql<Date>`now()`,
  version: sql<number>`version + 1`,
} as const;

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
