import { type Static, Type } from "typebox";
import {
  Body,
  Count,
  FormBody,
  FormLineText,
  FormText,
  Instant,
  LineText,
  NullableText,
  Text,
  Uuid,
  Version,
} from "../../http/schema.ts";

/* The events API contract: every input and output of the events routes, defined once. The field rules
 * that need more than a schema (an end after the start, a title that is not blank) are in
 * event-fields.ts, applied by the actions whatever the route. */

const Audience = Type.Union([Type.Literal("public"), Type.Literal("members")]);
const Status = Type.Union([
  Type.Literal("draft"),
  Type.Literal("published"),
  Type.Literal("completed"),
  Type.Literal("cancelled"),
]);
const NullableInstant = Type.Union([Instant(), Type.Null()]);

/** The fields an event is made of, as JSON. */
const EVENT_FIELDS = {
  title: LineText(200, { minLength: 1 }),
  description: Text(20_000),
  location: LineText(500),
  startsAt: Instant(),
  endsAt: Instant(),
  capacity: Count(100_000),
  registrationOpensAt: NullableInstant,
  registrationClosesAt: NullableInstant,
  audience: Audience,
};

/** POST /api/v1/events. */
export const CreateEventBody = Body({
  title: EVENT_FIELDS.title,
  description: Type.Optional(EVENT_FIELDS.description),
  location: Type.Optional(EVENT_FIELDS.location),
  startsAt: EVENT_FIELDS.startsAt,
  endsAt: EVENT_FIELDS.endsAt,
  capacity: EVENT_FIELDS.capacity,
  registrationOpensAt: Type.Optional(NullableInstant),
  registrationClosesAt: Type.Optional(NullableInstant),
  audience: Audience,
  status: Type.Optional(Type.Union([Type.Literal("draft"), Type.Literal("published")])),
  // No uuid format: a malformed id gets the same answer as an unknown one (422, or 403 for those who
  // may not create events for it).
  committeeId: Type.Optional(
    NullableText(64, {
      description:
        "The committee the event belongs to; null or absent for none. Without events:manage it must be a committee you chair now.",
    }),
  ),
});
export type CreateEventBody = Static<typeof CreateEventBody>;

/** PATCH /api/v1/events/:id: only the fields present change. */
export const EventChangesBody = Body(
  Object.fromEntries(Object.entries(EVENT_FIELDS).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof typeof EVENT_FIELDS]: ReturnType<typeof Type.Optional<(typeof EVENT_FIELDS)[K]>>;
  },
  { minProperties: 1 },
);
export type EventChangesBody = Static<typeof EventChangesBody>;

/** POST /api/v1/events/:id/cancel. */
export const CancelEventBody = Type.Union([Type.Null(), Body({ reason: Type.Optional(Text(500)) })]);

/** POST /api/v1/events/:id/registrations. */
export const RegisterBody = Type.Union([
  Type.Null(),
  Body({ guests: Type.Optional(Type.Array(Text(200, { minLength: 1 }), { maxItems: 10 })) }),
]);

/** A wall-clock time from a datetime-local input, read in the club's zone; "" for none. */
const LocalTime = Type.String({ pattern: "^(|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2})$", maxLength: 16 });

/** The event form (create and edit). Numbers arrive as text and are read by the form reader. */
export const EventFormBody = FormBody({
  title: FormLineText(200),
  description: FormText(20_000),
  location: FormLineText(500),
  startsAt: Type.Optional(LocalTime),
  endsAt: Type.Optional(LocalTime),
  capacity: FormText(12),
  registrationOpensAt: Type.Optional(LocalTime),
  registrationClosesAt: Type.Optional(LocalTime),
  audience: FormText(20),
  committeeId: FormText(64),
  version: FormText(12),
});
export type EventFormBody = Static<typeof EventFormBody>;

/** The cancel form. */
export const CancelEventForm = FormBody({ reason: FormText(500) });

/** The register form: guests one per line. */
export const RegisterForm = FormBody({ guests: FormText(2_100) });

/** An event as the API shows it. */
export const EventOut = Type.Object({
  id: Uuid(),
  title: Type.String(),
  description: Type.String({ description: "Markdown" }),
  location: Type.String(),
  startsAt: Instant(),
  endsAt: Instant(),
  capacity: Type.Integer(),
  registrationOpensAt: NullableInstant,
  registrationClosesAt: NullableInstant,
  audience: Audience,
  status: Status,
  committeeId: Type.Union([Uuid(), Type.Null()]),
  version: Version,
  createdAt: Instant(),
  updatedAt: Instant(),
});
export type EventOut = Static<typeof EventOut>;

/** An event with its seats taken and its waitlist length. */
export const EventWithSeats = Type.Object({
  ...EventOut.properties,
  seats: Type.Integer(),
  waiting: Type.Integer(),
});

/** The events a caller may see. */
export const EventListOut = Type.Object({ events: Type.Array(EventOut) });

/** An event after an edit: who was promoted from the waitlist when the capacity grew. */
export const UpdatedEventOut = Type.Object({ ...EventOut.properties, promoted: Type.Array(Uuid()) });

/** An event after it was cancelled: the registrations cancelled with it. */
export const CancelledEventOut = Type.Object({
  ...EventOut.properties,
  cancelledRegistrations: Type.Array(Uuid()),
});

/** A registration as its member sees it. */
export const RegistrationOut = Type.Object({
  id: Uuid(),
  eventId: Uuid(),
  status: Type.Union([Type.Literal("confirmed"), Type.Literal("waitlisted")]),
  waitlistPosition: Type.Union([Type.Integer(), Type.Null()]),
  guests: Type.Array(Type.String()),
});
export type RegistrationOut = Static<typeof RegistrationOut>;

/** A cancelled registration and who took the freed seats. */
export const CancelledRegistrationOut = Type.Object({ id: Uuid(), promoted: Type.Array(Uuid()) });

/** A registration's attendance on the day. */
export const AttendanceOut = Type.Object({
  id: Uuid(),
  eventId: Uuid(),
  status: Type.String(),
  checkedInAt: Type.Union([Instant(), Type.Null()]),
  noShow: Type.Boolean(),
  version: Version,
});
export type AttendanceOut = Static<typeof AttendanceOut>;

/** A registration as those who manage the event see it. */
export const ManagedRegistrationOut = Type.Object({
  id: Uuid(),
  memberId: Uuid(),
  memberName: Type.String(),
  memberEmail: Type.String(),
  status: Type.String(),
  waitlistPosition: Type.Union([Type.Integer(), Type.Null()]),
  guestNames: Type.Array(Type.String()),
  checkedInAt: Type.Union([Instant(), Type.Null()]),
  noShow: Type.Boolean(),
  cancelledAt: Type.Union([Instant(), Type.Null()]),
  version: Version,
  createdAt: Instant(),
});
export type ManagedRegistrationOut = Static<typeof ManagedRegistrationOut>;

/** An event's registrations: confirmed, then the waitlist in order, then cancelled. */
export const ManagedRegistrationsOut = Type.Object({
  eventId: Uuid(),
  registrations: Type.Array(ManagedRegistrationOut),
});
