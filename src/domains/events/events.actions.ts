import { randomUUID } from "node:crypto";
import { type ActionScope, defineAction, type OutboxDraft } from "../../core/action.ts";
import { auditContext } from "../../core/audit.ts";
import { conflict, invalidInput, notFound, sqlState } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { findCommittee } from "../committees/committees.repository.ts";
import { checkWholeEvent, type EventFields, eventValues } from "./event-fields.ts";
import { EVENT_ERRORS } from "./events.errors.ts";
import {
  cancellationEmail,
  confirmationEmail,
  type MessageContext,
  promotionEmail,
  waitlistEmailAroundPosition,
} from "./events.messages.ts";
import { CREATES_FOR_COMMITTEE, OWNS_REGISTRATION } from "./events.policies.ts";
import {
  closeWaitlistGap,
  confirmedSeats,
  confirmWaitlisted,
  eventOfRegistration,
  firstWaitlisted,
  insertEvent,
  lockEvent,
  lockRegistration,
  markCancelled,
  memberContact,
  register,
  registrationContext,
} from "./events.repository.ts";

/** The fields an event is created with. */
export interface EventInput extends EventFields {
  title: string;
  startsAt: string;
  endsAt: string;
  capacity: number;
  audience: "public" | "members";
  status?: "draft" | "published";
  /** The committee the event belongs to (its chairs may manage it); null or absent for none. */
  committeeId?: string | null;
}

/** Creates an event (draft unless published at once), for a committee or none. An admin change: the
 * admin freeze stops it on every route alike. */
export const createEvent = defineAction({
  name: "createEvent",
  access: { capability: "events:register", policy: CREATES_FOR_COMMITTEE },
  effect: "admin",
  async run({ trx }, input: EventInput) {
    const committeeId = input.committeeId?.trim() || null;
    // Past the policy, only a holder of events:manage can name a committee they do not chair.
    if (committeeId !== null && !(await findCommittee(trx, committeeId))) {
      throw EVENT_ERRORS.unknown_committee(
        "There is no such committee. Choose one from the list, or no committee, and try again.",
        { field: "committeeId" },
      );
    }
    const values = eventValues(input);
    if (
      !values.title ||
      !values.starts_at ||
      !values.ends_at ||
      values.capacity === undefined ||
      !values.audience
    )
      throw invalidInput("An event needs a title, a start, an end, a capacity and an audience.");
    const whole = {
      registration_opens_at: null,
      registration_closes_at: null,
      ...values,
      starts_at: values.starts_at,
      ends_at: values.ends_at,
    };
    checkWholeEvent(whole);
    const row = await insertEvent(trx, {
      ...values,
      title: values.title,
      starts_at: values.starts_at,
      ends_at: values.ends_at,
      capacity: values.capacity,
      audience: values.audience,
      status: input.status ?? "draft",
      committee_id: committeeId,
    });
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
    clubName: scope.clubName,
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
    await confirmWaitlisted(trx, next.id);
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
  access: { capability: "events:register" },
  effect: "write",
  async run(scope, input: { eventId: string; guestNames?: string[]; timeZone: string }) {
    const { trx, actor } = scope;
    if (actor.type !== "member") throw EVENT_ERRORS.members_only("Only members can register for events.");
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
        clubName: scope.clubName,
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
  await markCancelled(trx, before.id);
  if (before.status === "waitlisted") await closeWaitlistGap(trx, event.id, before.waitlist_position!);
  if (before.status !== "confirmed") return { promoted: [], outbox: [] };
  return promoteFromWaitlist(scope, event, timeZone);
}

/** Cancels a registration (one's own, or any with events:manage). A freed seat goes to the first
 * waitlisted member in the same transaction; waitlist positions stay 1..n. */
export const cancelRegistration = defineAction({
  name: "cancelRegistration",
  access: { capability: "events:register", policy: OWNS_REGISTRATION },
  effect: "write",
  async run(scope, input: { registrationId: string; timeZone: string }) {
    const { trx } = scope;
    const peek = await eventOfRegistration(trx, input.registrationId);
    const event = peek ? await lockEvent(trx, peek) : undefined;
    if (!event) throw notFound();
    const before = await lockRegistration(trx, input.registrationId);
    if (!before) throw notFound();
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
