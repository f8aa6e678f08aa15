import { type Kysely, sql, type Transaction } from "kysely";
import type { AuditContext, OutboxDraft } from "../../core/audit.ts";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { currentChairTerms } from "../committees/committees.repository.ts";
import type { EventValues } from "./event-fields.ts";
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
function visibleEvents(db: Kysely<DB>, includeMembersOnly: boolean) {
  const query = db
    .selectFrom("events")
    .where("status", "in", ["published", "completed", "cancelled"])
    .orderBy("starts_at")
    .limit(200);
  return includeMembersOnly ? query : query.where("audience", "=", "public");
}

/** The events a visitor may see, every column (the JSON API). */
export function listVisibleEvents(db: Kysely<DB>, includeMembersOnly: boolean) {
  return visibleEvents(db, includeMembersOnly).selectAll().execute();
}

/** Every event's id and title, whoever may see it: what the publishing leak audit looks for where an
 * event is hidden from the viewer. */
export function allEventTitles(db: Kysely<DB>) {
  return db.selectFrom("events").select(["id", "title"]).execute();
}

/** The same events with what the event list shows only: reading and parsing every column (descriptions,
 * six timestamps a row) was half the list's cost. */
export function listVisibleEventSummaries(db: Kysely<DB>, includeMembersOnly: boolean) {
  return visibleEvents(db, includeMembersOnly)
    .select(["id", "title", "starts_at", "status", "audience"])
    .execute();
}

/** Whether a visitor may see an event: drafts only for those who manage events, members-only events only
 * for members. Anything hidden is answered as absent. */
function visible(
  event: { status: string; audience: string },
  includeMembersOnly: boolean,
  includeDrafts: boolean,
) {
  if (event.status === "draft" && !includeDrafts) return false;
  if (event.audience === "members" && !includeMembersOnly) return false;
  return true;
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
  if (!event || !visible(event, includeMembersOnly, includeDrafts)) return undefined;
  return event;
}

/** What an event's page shows, in one round trip (a query costs more than the rest of the page): the
 * event if the visitor may see it (as findVisibleEvent decides), its seat counts (as eventCounts reads
 * them) and, when a member is given, their active (confirmed or waitlisted) registration: there is at
 * most one, INV-6. Undefined when the event is absent or hidden. */
export async function findEventPage(
  db: Kysely<DB>,
  eventId: string,
  access: { includeMembersOnly: boolean; includeDrafts: boolean; memberId: string | null },
) {
  if (!UUID.test(eventId)) return undefined;
  const { memberId } = access;
  // Visitors have no registration: the query then leaves registrations out, which also spares planning it.
  const row = await db
    .selectFrom("events as e")
    .leftJoin("event_tallies as t", "t.event_id", "e.id")
    .selectAll("e")
    .select(["t.confirmed_seats as tally_seats", "t.waitlisted as tally_waiting"])
    .$if(memberId !== null, (query) =>
      query
        .leftJoin("registrations as r", (join) =>
          join
            .onRef("r.event_id", "=", "e.id")
            .on("r.member_id", "=", memberId!)
            .on("r.status", "in", ["confirmed", "waitlisted"]),
        )
        .select([
          "r.id as reg_id",
          "r.status as reg_status",
          "r.waitlist_position as reg_waitlist_position",
          "r.guest_names as reg_guest_names",
        ]),
    )
    .where("e.id", "=", eventId)
    .executeTakeFirst();
  if (!row || !visible(row, access.includeMembersOnly, access.includeDrafts)) return undefined;
  const { tally_seats, tally_waiting, reg_id, reg_status, reg_waitlist_position, reg_guest_names, ...event } =
    row;
  return {
    event,
    counts: { seats: tally_seats ?? 0, waiting: tally_waiting ?? 0 },
    mine:
      reg_id && reg_status
        ? {
            id: reg_id,
            status: reg_status,
            waitlist_position: reg_waitlist_position ?? null,
            guest_names: reg_guest_names ?? [],
          }
        : undefined,
  };
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

/** Inserts a new event. */
export function insertEvent(
  trx: Transaction<DB>,
  values: Required<Pick<EventValues, "title" | "starts_at" | "ends_at" | "capacity" | "audience">> &
    EventValues & { status: string; committee_id: string | null },
) {
  return trx
    .insertInto("events")
    .values({ description: "", location: "", ...values })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Writes changed fields of an event and moves its version on. */
export function updateEventFields(trx: Transaction<DB>, eventId: string, values: EventValues) {
  return trx
    .updateTable("events")
    .set({ ...values, version: sql`version + 1` })
    .where("id", "=", eventId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Moves an event to another status (the caller holds its lock and checked the step). */
export function setEventStatus(trx: Transaction<DB>, eventId: string, status: string) {
  return trx
    .updateTable("events")
    .set({ status, version: sql`version + 1` })
    .where("id", "=", eventId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Cancels every active registration of an event; returns them. */
export function cancelActiveRegistrations(trx: Transaction<DB>, eventId: string) {
  return trx
    .updateTable("registrations")
    .set(CANCELLED)
    .where("event_id", "=", eventId)
    .where("status", "in", ["confirmed", "waitlisted"])
    .returning(["id", "member_id"])
    .execute();
}

/** Gives a waitlisted registration its seat. */
export async function confirmWaitlisted(trx: Transaction<DB>, registrationId: string): Promise<void> {
  await trx
    .updateTable("registrations")
    .set({ status: "confirmed", waitlist_position: null, version: sql`version + 1` })
    .where("id", "=", registrationId)
    .execute();
}

/** Marks one registration cancelled. */
export async function markCancelled(trx: Transaction<DB>, registrationId: string): Promise<void> {
  await trx.updateTable("registrations").set(CANCELLED).where("id", "=", registrationId).execute();
}

/** A registration, locked for the rest of the transaction; undefined for an unknown or malformed id. */
export function lockRegistration(trx: Transaction<DB>, registrationId: string) {
  if (!UUID.test(registrationId)) return Promise.resolve(undefined);
  return trx
    .selectFrom("registrations")
    .selectAll()
    .where("id", "=", registrationId)
    .forUpdate()
    .executeTakeFirst();
}

/** The event a registration belongs to, if the registration exists. */
export async function eventOfRegistration(
  db: Kysely<DB>,
  registrationId: string,
): Promise<string | undefined> {
  if (!UUID.test(registrationId)) return undefined;
  const row = await db
    .selectFrom("registrations")
    .select("event_id")
    .where("id", "=", registrationId)
    .executeTakeFirst();
  return row?.event_id;
}

/** The member a registration belongs to, if the registration exists. */
export async function memberOfRegistration(
  db: Kysely<DB>,
  registrationId: string,
): Promise<string | undefined> {
  if (!UUID.test(registrationId)) return undefined;
  const row = await db
    .selectFrom("registrations")
    .select("member_id")
    .where("id", "=", registrationId)
    .executeTakeFirst();
  return row?.member_id;
}

/** Does this member chair, right now, the committee this event belongs to? */
export async function chairsCommitteeOfEvent(
  db: Kysely<DB>,
  memberId: string,
  eventId: string,
): Promise<boolean> {
  const row = await currentChairTerms(db, memberId)
    .innerJoin("events as e", "e.committee_id", "cm.committee_id")
    .select(sql<number>`1`.as("ok"))
    .where("e.id", "=", eventId)
    .executeTakeFirst();
  return row !== undefined;
}

/** A member's active registrations for events still open (draft or published), in event order, so
 * events are always locked in the same order (no deadlock between two such changes). */
export function openRegistrationsOf(trx: Transaction<DB>, memberId: string) {
  return trx
    .selectFrom("registrations as r")
    .innerJoin("events as e", "e.id", "r.event_id")
    .select(["r.id", "r.event_id"])
    .where("r.member_id", "=", memberId)
    .where("r.status", "in", ["confirmed", "waitlisted"])
    .where("e.status", "in", ["draft", "published"])
    .orderBy("r.event_id")
    .execute();
}

/** Records an arrival (clearing an earlier no-show). */
export function markCheckedIn(trx: Transaction<DB>, registrationId: string) {
  return trx
    .updateTable("registrations")
    .set({ checked_in_at: sql`now()`, no_show: false, version: sql`version + 1` })
    .where("id", "=", registrationId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Records a no-show. */
export function markNoShowRow(trx: Transaction<DB>, registrationId: string) {
  return trx
    .updateTable("registrations")
    .set({ no_show: true, version: sql`version + 1` })
    .where("id", "=", registrationId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Events with their committee's name and seat counts (from the tally), newest start first, drafts
 * included: every event, or only those of the given committees. */
export function listAdminEvents(db: Kysely<DB>, committees: "all" | string[]) {
  let query = db
    .selectFrom("events as e")
    .leftJoin("committees as c", "c.id", "e.committee_id")
    // A left join: an event whose tally row went missing still shows (its seats read "not counted"),
    // and the events.tallies invariant check reports the gap.
    .leftJoin("event_tallies as t", "t.event_id", "e.id")
    .selectAll("e")
    .select(["c.name as committee_name", "t.confirmed_seats as seats", "t.waitlisted as waiting"])
    .orderBy("e.starts_at", "desc")
    .orderBy("e.id")
    .limit(200);
  if (committees !== "all") {
    if (committees.length === 0) return Promise.resolve([]);
    query = query.where("e.committee_id", "in", committees);
  }
  return query.execute();
}

/** An event's registrations with member names: confirmed, then the waitlist in order, then cancelled. */
export function eventRegistrations(db: Kysely<DB>, eventId: string) {
  return db
    .selectFrom("registrations as r")
    .innerJoin("members as m", "m.id", "r.member_id")
    .select([
      "r.id",
      "r.member_id",
      "r.status",
      "r.waitlist_position",
      "r.guest_names",
      "r.checked_in_at",
      "r.no_show",
      "r.cancelled_at",
      "r.version",
      "r.created_at",
      "m.name as member_name",
      "m.email as member_email",
    ])
    .where("r.event_id", "=", eventId)
    .orderBy(sql`CASE r.status WHEN 'confirmed' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END`)
    .orderBy("r.waitlist_position")
    .orderBy("r.created_at")
    .execute();
}

/** Events for a calendar feed: once published (cancelled ones stay, so calendars learn of the
 * cancellation), for the audience given, from 180 days back. Drafts never appear. */
export function feedEvents(db: Kysely<DB>, includeMembersOnly: boolean) {
  let query = db
    .selectFrom("events")
    .selectAll()
    .where("status", "in", ["published", "completed", "cancelled"])
    .where("ends_at", ">", sql<Date>`now() - interval '180 days'`)
    .orderBy("starts_at")
    .limit(1000);
  if (!includeMembersOnly) query = query.where("audience", "=", "public");
  return query.execute();
}

/** When the member's feed address was last made, if they have one. */
export function feedTokenStatus(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("member_feed_tokens")
    .select(["updated_at", "version"])
    .where("member_id", "=", memberId)
    .executeTakeFirst();
}

/** Stores a member's new feed token hash, replacing any earlier one; returns the new version. */
export function replaceFeedToken(trx: Transaction<DB>, memberId: string, tokenHash: string) {
  return trx
    .insertInto("member_feed_tokens")
    .values({ member_id: memberId, token_hash: tokenHash })
    .onConflict((oc) =>
      oc
        .column("member_id")
        .doUpdateSet({ token_hash: tokenHash, version: sql`member_feed_tokens.version + 1` }),
    )
    .returning(["version"])
    .executeTakeFirstOrThrow();
}

/** The member a feed token belongs to, if they are active and not deleted: a suspended or lapsed
 * member's feed stops with them, and works again if they are reactivated. */
export function feedTokenOwner(db: Kysely<DB>, tokenHash: string) {
  return db
    .selectFrom("member_feed_tokens as t")
    .innerJoin("members as m", "m.id", "t.member_id")
    .select("m.id")
    .where("t.token_hash", "=", tokenHash)
    .where("m.deleted_at", "is", null)
    .where("m.status", "=", "active")
    .executeTakeFirst();
}
