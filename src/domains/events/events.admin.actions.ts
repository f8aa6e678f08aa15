import { type ActionScope, defineAction, type OutboxDraft } from "../../core/action.ts";
import { fieldsChangedSince } from "../../core/audit.ts";
import { conflict, notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { COLUMNS, checkWholeEvent, type EventField, type EventFields, eventValues } from "./event-fields.ts";
import { contextFor, promoteFromWaitlist } from "./events.actions.ts";
import { EVENT_ERRORS } from "./events.errors.ts";
import { eventCancelledEmail } from "./events.messages.ts";
import { MANAGES_EVENT } from "./events.policies.ts";
import {
  cancelActiveRegistrations,
  confirmedSeats,
  lockEvent,
  setEventStatus,
  updateEventFields,
} from "./events.repository.ts";

/* Running an event: edits, publish, complete, cancel. Who may is the events.manages-event policy
 * (events:manage, or chairing the event's committee), checked in the action's transaction. */
const MANAGE = { capability: "events:register", policy: MANAGES_EVENT } as const;

/** The fields of an event an edit may change; only those present change. */
export type EventChanges = EventFields;

type EventRow = NonNullable<Awaited<ReturnType<typeof lockEvent>>>;

const same = (a: unknown, b: unknown) =>
  a instanceof Date || b instanceof Date
    ? (a ? new Date(a as Date).getTime() : null) === (b ? new Date(b as Date).getTime() : null)
    : a === b;

/** The event, locked, or 404; refused with 409 naming what changed when the version is stale (W-4). */
async function lockCurrent(scope: ActionScope, eventId: string, version?: number): Promise<EventRow> {
  const event = UUID.test(eventId) ? await lockEvent(scope.trx, eventId) : undefined;
  if (!event) throw notFound();
  if (version !== undefined && event.version !== version) {
    const changed = await fieldsChangedSince(scope.trx, { type: "event", id: eventId }, version);
    throw conflict(
      `Someone changed this event after you opened it${changed.length ? ` (${changed.join(", ")})` : ""}. ` +
        "Nothing was saved: reload to see the current event, then make your change again.",
      { currentVersion: event.version, changedFields: changed },
    );
  }
  return event;
}

/** Edits an event (W-4: the version read must be current). Capacity never drops below the confirmed
 * seats (INV-6); when it grows, the waitlist is promoted in order in the same transaction. */
export const updateEvent = defineAction({
  name: "updateEvent",
  access: MANAGE,
  effect: "admin",
  async run(scope, input: { eventId: string; version: number; changes: EventChanges; timeZone: string }) {
    const { trx } = scope;
    const values = eventValues(input.changes) as Record<string, unknown>;
    const event = await lockCurrent(scope, input.eventId, input.version);
    if (event.status === "cancelled" || event.status === "completed")
      throw conflict(`This event is ${event.status}, so it can no longer be changed.`);
    const fields = (Object.keys(COLUMNS) as EventField[]).filter((f) => COLUMNS[f] in values);
    const changed = fields.filter((f) => !same(values[COLUMNS[f]], event[COLUMNS[f]]));
    const changedValues = Object.fromEntries(changed.map((f) => [COLUMNS[f], values[COLUMNS[f]]]));
    const merged = { ...event, ...changedValues };
    checkWholeEvent(merged);
    if (merged.capacity < event.capacity) {
      const seats = await confirmedSeats(trx, event.id);
      if (merged.capacity < seats) {
        throw EVENT_ERRORS.capacity_below_confirmed(
          `Capacity cannot be ${merged.capacity}: ${seats} seats are already confirmed. Nothing was saved; ` +
            "cancel registrations first, or choose a capacity of at least the confirmed seats.",
          { confirmedSeats: seats },
        );
      }
    }
    const after = await updateEventFields(trx, event.id, changedValues);
    const promotion =
      after.capacity > event.capacity
        ? await promoteFromWaitlist(scope, after, input.timeZone)
        : { promoted: [], outbox: [] };
    return {
      result: { ...after, promoted: promotion.promoted },
      audit: {
        action: "event.updated",
        subjectType: "event",
        subjectId: event.id,
        before: Object.fromEntries(changed.map((f) => [f, event[COLUMNS[f]]])),
        after: {
          version: after.version,
          changes: Object.fromEntries(changed.map((f) => [f, values[COLUMNS[f]]])),
          promoted: promotion.promoted,
        },
      },
      outbox: promotion.outbox,
    };
  },
});

const STEPS_FROM: Record<string, string[]> = {
  published: ["draft"],
  completed: ["published"],
  cancelled: ["draft", "published"],
};

/** One status step of an event's life: draft -> published -> completed, or -> cancelled. */
async function moveStatus(scope: ActionScope, eventId: string, to: string, version?: number) {
  const event = await lockCurrent(scope, eventId, version);
  if (!STEPS_FROM[to]!.includes(event.status))
    throw conflict(`This event is ${event.status}, so it cannot become ${to}.`, { status: event.status });
  if (to === "completed" && new Date(event.starts_at) > new Date())
    throw conflict("This event has not started yet, so it cannot be completed.");
  const after = await setEventStatus(scope.trx, event.id, to);
  return { event, after };
}

/** A status step's input; the fields a step does not use are ignored (only cancel reads reason). */
export type StepInput = { eventId: string; version?: number; reason?: string; timeZone: string };

/** Publishes a draft event: it appears on the site (and feeds) for its audience. */
export const publishEvent = defineAction({
  name: "publishEvent",
  access: MANAGE,
  effect: "admin",
  async run(scope, input: StepInput) {
    const { after } = await moveStatus(scope, input.eventId, "published", input.version);
    return {
      result: after,
      audit: {
        action: "event.published",
        subjectType: "event",
        subjectId: after.id,
        before: { status: "draft" },
        after: { status: after.status, version: after.version },
      },
    };
  },
});

/** Marks a past event completed; registrations stay as they are. */
export const completeEvent = defineAction({
  name: "completeEvent",
  access: MANAGE,
  effect: "admin",
  async run(scope, input: StepInput) {
    const { after } = await moveStatus(scope, input.eventId, "completed", input.version);
    return {
      result: after,
      audit: {
        action: "event.completed",
        subjectType: "event",
        subjectId: after.id,
        before: { status: "published" },
        after: { status: after.status, version: after.version },
      },
    };
  },
});

/** Cancels an event and every active registration, writing one cancellation email per registration to
 * the outbox in the same transaction (W-2, W-6): all of it commits, or none of it. */
export const cancelEvent = defineAction({
  name: "cancelEvent",
  access: MANAGE,
  effect: "admin",
  async run(scope, input: StepInput) {
    const reason = input.reason?.trim() || null;
    const { event, after } = await moveStatus(scope, input.eventId, "cancelled", input.version);
    const active = await cancelActiveRegistrations(scope.trx, event.id);
    const outbox: OutboxDraft[] = [];
    for (const registration of active) {
      const ctx = await contextFor(scope, registration.member_id, event, input.timeZone);
      outbox.push(eventCancelledEmail(ctx, reason, { registrationId: registration.id, eventId: event.id }));
    }
    const cancelled = active.map((r) => r.id);
    return {
      result: { ...after, cancelledRegistrations: cancelled },
      audit: {
        action: "event.cancelled",
        subjectType: "event",
        subjectId: event.id,
        before: { status: event.status },
        after: { status: after.status, version: after.version, cancelledRegistrations: cancelled },
        reason,
      },
      outbox,
    };
  },
});
