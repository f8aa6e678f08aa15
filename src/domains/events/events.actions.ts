import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { type ActionScope, defineAction, type OutboxDraft } from "../../core/action.ts";
import { auditContext } from "../../core/audit.ts";
import { ClubError, conflict, invalidInput, notFound, sqlState } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { committeeForNewEvent } from "./event-access.ts";
import {
  cancellationEmail,
  confirmationEmail,
  type MessageContext,
  promotionEmail,
  waitlistEmailAroundPosition,
} from "./events.messages.ts";
import {
  CANCELLED,
  closeWaitlistGap,
  confirmedSeats,
  firstWaitlisted,
  lockEvent,
  memberContact,
  register,
  registrationContext,
} from "./events.repository.ts";

/** The fields an event is created with. */
export interface EventInput {
  title: string;
  description?: string;
  location?: string;
  startsAt: string;
  endsAt: string;
  capacity: number;
  registrationOpensAt?: string | null;
  registrationClosesAt?: string | null;
  audience: "public" | "members";
  status?: "draft" | "published";
  /** The committee the event belongs to (its chairs may manage it); null or absent for none. */
  committeeId?: string | null;
}

function parseTime(value: string | null | undefined, field: string): Date | null {
  if (value === null || value === undefined || value === "") return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalidInput(`${field} is not a valid date and time.`);
  return date;
}

/** Creates an event (draft unless published at once), for a committee or none. Who may is decided by
 * committeeForNewEvent: events:manage for any committee, a current chair for their own committee only. */
export const createEvent = defineAction({
  name: "createEvent",
  // Chairs hold no events:manage, so the declared capability only keeps out actors who hold nothing;
  // the gate is committeeForNewEvent, first thing in the transaction (W-1, S-1).
  capability: "events:register",
  effect: "write",
  async run({ trx, actor }, input: EventInput) {
    const committeeId = await committeeForNewEvent(trx, actor, input.committeeId);
    const startsAt = parseTime(input.startsAt, "The start")!;
    const endsAt = parseTime(input.endsAt, "The end")!;
    if (!startsAt || !endsAt) throw invalidInput("An event needs a start and an end.");
    if (endsAt < startsAt) throw invalidInput("The event ends before it starts.");
    if (!Number.isInteger(input.capacity) || input.capacity < 0)
      throw invalidInput("Capacity must be a whole number, 0 or more.");
    if (!input.title?.trim()) throw invalidInput("An event needs a title.");
    const row = await trx
      .insertInto("events")
      .values({
        title: input.title.trim(),
        description: input.description ?? "",
        location: input.location ?? "",
        starts_at: startsAt,
        ends_at: endsAt,
        capacity: input.capacity,
        registration_opens_at: parseTime(input.registrationOpensAt, "Registration opening"),
        registration_closes_at: parseTime(input.registrationClosesAt, "Registration closing"),
        audience: input.audience,
        status: input.status ?? "draft",
        committee_id: committeeId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return {
      result: row,
      audit: {
        action: "event.created",
        subjectType: "event",
        subjectId: row.id,
        after: { title: row.title, capacity: row.capacity, status: row.status, committeeId },
      },
    };
  },
});

/** What a message to one member about one event needs, read inside the transaction. */
export async function contextFor(
  scope: ActionScope,
  memberId: string,
  event: { title: string; starts_at: Date; location: string },
  timeZone: string,
): Promise<MessageContext> {
  const member = await memberContact(scope.trx, memberId);
  if (!member) throw notFound();
  return {
    memberName: member.name,
    memberEmail: member.email,
    eventTitle: event.title,
    startsAt: new Date(event.starts_at),
    location: event.location,
    timeZone,
  };
}

/** Gives free seats to the waitlist, first in line first, inside the caller's transaction (the caller
 * holds the event row lock). Stops at the first registration that does not fit: strict order, nobody is
 * skipped. Used when a seat is freed and when capacity grows. */
export async function promoteFromWaitlist(
  scope: ActionScope,
  event: { id: string; capacity: number; title: string; starts_at: Date; location: string },
  timeZone: string,
): Promise<{ promoted: string[]; outbox: OutboxDraft[] }> {
  const { trx } = scope;
  const promoted: string[] = [];
  const outbox: OutboxDraft[] = [];
  for (;;) {
    const next = await firstWaitlisted(trx, event.id);
    if (!next) break;
    const free = event.capacity - (await confirmedSeats(trx, event.id));
    if (1 + next.guest_names.length > free) break; // strict order: the first in line is never skipped
    await trx
      .updateTable("registrations")
      .set({ status: "confirmed", waitlist_position: null, version: sql`version + 1` })
      .where("id", "=", next.id)
      .execute();
    await closeWaitlistGap(trx, event.id, next.waitlist_position!);
    promoted.push(next.id);
    outbox.push(
      promotionEmail(await contextFor(scope, next.member_id, event, timeZone), {
        registrationId: next.id,
        eventId: event.id,
      }),
    );
  }
  return { promoted, outbox };
}

/** Registers the signed-in member (and named guests) for an event: a confirmed seat while capacity
 * allows, else a place at the end of the waitlist. The event row lock serialises registrations for
 * one event, so capacity holds whatever the concurrency (INV-6). Everything is prepared before the lock
 * (both possible messages included), and one statement takes the lock, the place, the audit entry and
 * the message (clubos_register), so members queued on a popular event wait for one statement and a
 * commit each, not for round trips to this process (W-6: the message commits with the registration). */
export const registerForEvent = defineAction({
  name: "registerForEvent",
  capability: "events:register",
  effect: "write",
  async run(scope, input: { eventId: string; guestNames?: string[]; timeZone: string }) {
    const { trx, actor } = scope;
    if (actor.type !== "member")
      throw new ClubError("members_only", "Only members can register for events.", 403);
    const guests = (input.guestNames ?? []).map((g) => g.trim()).filter(Boolean);
    if (guests.length > 10) throw invalidInput("At most 10 guests per registration.");
    if (!UUID.test(input.eventId)) throw notFound();
    // An edit of the event between the read and the lock makes the statement answer "stale"; the
    // second read happens under the lock, so it is current.
    for (let attempt = 1; ; attempt++) {
      const context = await registrationContext(trx, input.eventId, actor.memberId);
      if (!context) throw notFound();
      const registrationId = randomUUID();
      const ctx: MessageContext = {
        memberName: context.name,
        memberEmail: context.email,
        eventTitle: context.title,
        startsAt: new Date(context.starts_at),
        location: context.location,
        timeZone: input.timeZone,
      };
      const payload = { registrationId, eventId: input.eventId };
      let placed: Awaited<ReturnType<typeof register>>;
      try {
        placed = await register(trx, {
          registrationId,
          eventId: input.eventId,
          memberId: actor.memberId,
          guests,
          eventVersion: context.version,
          audit: {
            ...auditContext(scope),
            after: { eventId: input.eventId, memberId: actor.memberId, guests: guests.length },
          },
          confirmed: confirmationEmail(ctx, payload),
          waitlisted: waitlistEmailAroundPosition(ctx, payload),
        });
      } catch (error) {
        if (sqlState(error) === "23505") throw conflict("You are already registered for this event.");
        throw error;
      }
      if (placed.outcome === "stale" && attempt < 3) continue;
      if (placed.outcome === "stale") throw conflict("The event is being changed right now. Try again.");
      if (placed.outcome === "not_found") throw notFound();
      if (placed.outcome.startsWith("closed:")) {
        throw conflict(`Registration is closed: this event is ${placed.outcome.slice(7)}.`);
      }
      if (placed.outcome === "not_open") throw conflict("Registration has not opened yet.");
      if (placed.outcome === "window_closed") throw conflict("Registration has closed.");
      return {
        result: {
          id: registrationId,
          eventId: input.eventId,
          status: placed.reg_status!,
          waitlistPosition: placed.wait_position,
          guests,
        },
        audit: { writtenId: placed.audit_id! },
      };
    }
  },
});

/** Cancels an active registration whose event row and registration row the caller holds locked: the
 * waitlist closes its gap, and a freed seat goes to the first in line (promotion messages returned). */
export async function cancelHeld(
  scope: ActionScope,
  before: { id: string; status: string; waitlist_position: number | null },
  event: { id: string; capacity: number; title: string; starts_at: Date; location: string },
  timeZone: string,
): Promise<{ promoted: string[]; outbox: OutboxDraft[] }> {
  const { trx } = scope;
  await trx.updateTable("registrations").set(CANCELLED).where("id", "=", before.id).execute();
  if (before.status === "waitlisted") await closeWaitlistGap(trx, event.id, before.waitlist_position!);
  if (before.status !== "confirmed") return { promoted: [], outbox: [] };
  return promoteFromWaitlist(scope, event, timeZone);
}

/** Cancels a member's registrations for events still open (draft or published), for a member who is
 * deleted: a deleted member holds no seat and no place in line (INV-8), and each seat freed goes to the
 * first in line in the same transaction. Registrations of completed or cancelled events are history
 * and stay. Events are locked in id order, so two such changes cannot deadlock. */
export async function cancelOpenRegistrationsOf(scope: ActionScope, memberId: string, timeZone: string) {
  const { trx } = scope;
  const active = await trx
    .selectFrom("registrations as r")
    .innerJoin("events as e", "e.id", "r.event_id")
    .select(["r.id", "r.event_id"])
    .where("r.member_id", "=", memberId)
    .where("r.status", "in", ["confirmed", "waitlisted"])
    .where("e.status", "in", ["draft", "published"])
    .orderBy("r.event_id")
    .execute();
  const cancelled: string[] = [];
  const promoted: string[] = [];
  const outbox: OutboxDraft[] = [];
  for (const { id, event_id } of active) {
    const event = (await lockEvent(trx, event_id))!;
    const before = await trx
      .selectFrom("registrations")
      .selectAll()
      .where("id", "=", id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (before.status !== "confirmed" && before.status !== "waitlisted") continue;
    const freed = await cancelHeld(scope, before, event, timeZone);
    cancelled.push(id);
    promoted.push(...freed.promoted);
    outbox.push(...freed.outbox);
  }
  return { cancelled, promoted, outbox };
}

/** Cancels a registration (one's own, or any with events:manage). A freed seat goes to the first
 * waitlisted member in the same transaction; waitlist positions stay 1..n. */
export const cancelRegistration = defineAction({
  name: "cancelRegistration",
  capability: "events:register",
  effect: "write",
  async run(scope, input: { registrationId: string; timeZone: string }) {
    const { trx, actor } = scope;
    if (!UUID.test(input.registrationId)) throw notFound();
    const peek = await trx
      .selectFrom("registrations")
      .select(["event_id", "member_id"])
      .where("id", "=", input.registrationId)
      .executeTakeFirst();
    const own = actor.type === "member" && peek?.member_id === actor.memberId;
    if (!peek || (!own && !actor.capabilities.has("events:manage"))) throw notFound();
    const event = await lockEvent(trx, peek.event_id);
    if (!event) throw notFound();
    const before = await trx
      .selectFrom("registrations")
      .selectAll()
      .where("id", "=", input.registrationId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (before.status === "cancelled") throw conflict("This registration is already cancelled.");
    const { promoted, outbox: promotions } = await cancelHeld(scope, before, event, input.timeZone);
    const outbox: OutboxDraft[] = [
      cancellationEmail(await contextFor(scope, before.member_id, event, input.timeZone), {
        registrationId: before.id,
        eventId: event.id,
      }),
      ...promotions,
    ];
    return {
      result: { id: before.id, promoted },
      audit: {
        action: "registration.cancelled",
        subjectType: "registration",
        subjectId: before.id,
        before: { status: before.status, waitlistPosition: before.waitlist_position },
        after: { status: "cancelled", promoted },
      },
      outbox,
    };
  },
});
