import { sql } from "kysely";
import { type ActionScope, defineAction, type OutboxDraft } from "../../core/action.ts";
import { fieldsChangedSince } from "../../core/audit.ts";
import { ClubError, conflict, forbidden, invalidInput, notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { canManageEvent } from "./event-access.ts";
import { contextFor, type EventInput, promoteFromWaitlist } from "./events.actions.ts";
import { eventCancelledEmail } from "./events.messages.ts";
import { CANCELLED, confirmedSeats, lockEvent } from "./events.repository.ts";

// Who may act is decided per event by canManageEvent (events:manage, or chairing the event's committee),
// inside the transaction. The declared capability, events:register, only keeps out actors who hold
// nothing at all: chairs are members without events:manage, so it cannot be the gate.
const GATE = "events:register";

/** The fields of an event an edit may change; only those present change. */
export type EventChanges = Partial<Omit<EventInput, "status">>;

const COLUMNS = {
  title: "title",
  description: "description",
  location: "location",
  startsAt: "starts_at",
  endsAt: "ends_at",
  capacity: "capacity",
  registrationOpensAt: "registration_opens_at",
  registrationClosesAt: "registration_closes_at",
  audience: "audience",
} as const;
type Field = keyof typeof COLUMNS;
const TIMES = new Set<Field>(["startsAt", "endsAt", "registrationOpensAt", "registrationClosesAt"]);

type EventRow = NonNullable<Awaited<ReturnType<typeof lockEvent>>>;

function toValue(field: Field, raw: unknown): unknown {
  if (TIMES.has(field)) {
    if (raw === null || raw === "" || raw === undefined) {
      if (field === "startsAt" || field === "endsAt")
        throw invalidInput("An event needs a start and an end.");
      return null;
    }
    const date = new Date(String(raw));
    if (Number.isNaN(date.getTime())) throw invalidInput(`${field} is not a valid date and time.`);
    return date;
  }
  if (field === "capacity") {
    if (!Number.isInteger(raw) || (raw as number) < 0)
      throw invalidInput("Capacity must be a whole number, 0 or more.");
    return raw;
  }
  if (field === "audience") {
    if (raw !== "public" && raw !== "members") throw invalidInput('Audience is "public" or "members".');
    return raw;
  }
  const text = String(raw ?? "");
  if (field === "title" && !text.trim()) throw invalidInput("An event needs a title.");
  return field === "description" ? text : text.trim();
}

const same = (a: unknown, b: unknown) =>
  a instanceof Date || b instanceof Date
    ? (a ? new Date(a as Date).getTime() : null) === (b ? new Date(b as Date).getTime() : null)
    : a === b;

/** The event, locked, or 404; refused with 409 naming what changed when the version is stale (W-4). */
async function lockCurrent(scope: ActionScope, eventId: string, version?: number): Promise<EventRow> {
  if (!(await canManageEvent(scope.trx, scope.actor, eventId))) throw forbidden("events:manage");
  if (!UUID.test(eventId)) throw notFound();
  const event = await lockEvent(scope.trx, eventId);
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
  capability: GATE,
  effect: "admin",
  async run(scope, input: { eventId: string; version: number; changes: EventChanges; timeZone: string }) {
    const { trx } = scope;
    const fields = Object.keys(input.changes).filter((f) => f in COLUMNS) as Field[];
    const values = Object.fromEntries(fields.map((f) => [f, toValue(f, input.changes[f])]));
    const event = await lockCurrent(scope, input.eventId, input.version);
    if (event.status === "cancelled" || event.status === "completed")
      throw conflict(`This event is ${event.status}, so it can no longer be changed.`);
    const changed = fields.filter((f) => !same(values[f], event[COLUMNS[f]]));
    const merged = { ...event, ...Object.fromEntries(changed.map((f) => [COLUMNS[f], values[f]])) };
    if (new Date(merged.ends_at) < new Date(merged.starts_at))
      throw invalidInput("The event ends before it starts.");
    const opens = merged.registration_opens_at;
    const closes = merged.registration_closes_at;
    if (opens && closes && new Date(closes) < new Date(opens))
      throw invalidInput("Registration closes before it opens.");
    if (merged.capacity < event.capacity) {
      const seats = await confirmedSeats(trx, event.id);
      if (merged.capacity < seats) {
        throw new ClubError(
          "capacity_below_confirmed",
          `Capacity cannot be ${merged.capacity}: ${seats} seats are already confirmed. Nothing was saved; ` +
            "cancel registrations first, or choose a capacity of at least the confirmed seats.",
          409,
          { confirmedSeats: seats },
        );
      }
    }
    const after = await trx
      .updateTable("events")
      .set({
        ...Object.fromEntries(changed.map((f) => [COLUMNS[f], values[f]])),
        version: sql`version + 1`,
      })
      .where("id", "=", event.id)
      .returningAll()
      .executeTakeFirstOrThrow();
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
          changes: Object.fromEntries(changed.map((f) => [f, values[f]])),
          promoted: promotion.promoted,
        },
      },
      outbox: promotion.outbox,
    };
  },
});

/** One status step of an event's life: draft -> published -> completed, or -> cancelled. */
async function moveStatus(scope: ActionScope, eventId: string, to: string, version?: number) {
  const from: Record<string, string[]> = {
    published: ["draft"],
    completed: ["published"],
    cancelled: ["draft", "published"],
  };
  const event = await lockCurrent(scope, eventId, version);
  if (!from[to]!.includes(event.status))
    throw conflict(`This event is ${event.status}, so it cannot become ${to}.`, { status: event.status });
  if (to === "completed" && new Date(event.starts_at) > new Date())
    throw conflict("This event has not started yet, so it cannot be completed.");
  const after = await scope.trx
    .updateTable("events")
    .set({ status: to, version: sql`version + 1` })
    .where("id", "=", event.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { event, after };
}

/** Publishes a draft event: it appears on the site (and feeds) for its audience. */
export const publishEvent = defineAction({
  name: "publishEvent",
  capability: GATE,
  effect: "admin",
  async run(scope, input: { eventId: string; version?: number }) {
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
  capability: GATE,
  effect: "admin",
  async run(scope, input: { eventId: string; version?: number }) {
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
  capability: GATE,
  effect: "admin",
  async run(scope, input: { eventId: string; version?: number; reason?: string; timeZone: string }) {
    const { trx } = scope;
    const reason = input.reason?.trim() || null;
    const { event, after } = await moveStatus(scope, input.eventId, "cancelled", input.version);
    const active = await trx
      .updateTable("registrations")
      .set(CANCELLED)
      .where("event_id", "=", event.id)
      .where("status", "in", ["confirmed", "waitlisted"])
      .returning(["id", "member_id"])
      .execute();
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
