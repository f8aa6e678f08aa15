import { invalidInput } from "../../core/errors.ts";
import { isOneLine } from "../../http/schema.ts";

/* The one place the rules of an event's fields are written: what each field accepts and how the fields
 * fit together. Creating and editing an event both apply them, whatever route (form or JSON) or caller
 * (an operator's script) the input came from. The route schemas (events.schemas.ts) have already
 * bounded lengths and types for HTTP input. */

/** An event's fields as actions receive them; only those present are applied. */
export interface EventFields {
  title?: string;
  description?: string;
  location?: string;
  startsAt?: string;
  endsAt?: string;
  capacity?: number;
  registrationOpensAt?: string | null;
  registrationClosesAt?: string | null;
  audience?: "public" | "members";
}

/** The columns an event's fields are stored in. */
export const COLUMNS = {
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

/** One event field's name. */
export type EventField = keyof typeof COLUMNS;

/** The stored values of the fields, by column. */
export interface EventValues {
  title?: string;
  description?: string;
  location?: string;
  starts_at?: Date;
  ends_at?: Date;
  capacity?: number;
  registration_opens_at?: Date | null;
  registration_closes_at?: Date | null;
  audience?: "public" | "members";
}

const LABELS: Record<EventField, string> = {
  title: "The title",
  description: "The description",
  location: "The location",
  startsAt: "The start",
  endsAt: "The end",
  capacity: "The capacity",
  registrationOpensAt: "Registration opening",
  registrationClosesAt: "Registration closing",
  audience: "The audience",
};

function time(field: EventField, raw: unknown): Date | null {
  if (raw === null || raw === undefined || raw === "") {
    if (field === "startsAt" || field === "endsAt") throw invalidInput("An event needs a start and an end.");
    return null;
  }
  const date = new Date(String(raw));
  if (Number.isNaN(date.getTime())) throw invalidInput(`${LABELS[field]} is not a valid date and time.`);
  return date;
}

/** The fields present, checked one by one and turned into column values. */
export function eventValues(fields: EventFields): EventValues {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(fields) as EventField[]) {
    if (!(field in COLUMNS)) continue;
    const raw = fields[field];
    if (raw === undefined) continue;
    let value: unknown;
    if (
      field === "startsAt" ||
      field === "endsAt" ||
      field === "registrationOpensAt" ||
      field === "registrationClosesAt"
    ) {
      value = time(field, raw);
    } else if (field === "capacity") {
      if (!Number.isInteger(raw) || (raw as number) < 0 || (raw as number) > 100_000)
        throw invalidInput("Capacity must be a whole number from 0 to 100,000.");
      value = raw;
    } else if (field === "audience") {
      if (raw !== "public" && raw !== "members") throw invalidInput('Audience is "public" or "members".');
      value = raw;
    } else {
      const text = String(raw);
      if (field === "title" && !text.trim()) throw invalidInput("An event needs a title.");
      if ((field === "title" || field === "location") && !isOneLine(text))
        throw invalidInput(`${LABELS[field]} must fit on one line: remove the line breaks and tabs.`);
      value = field === "description" ? text.replace(/\r\n/g, "\n") : text.trim();
    }
    out[COLUMNS[field]] = value;
  }
  return out as EventValues;
}

/** The rules between fields, on the event as it would be after the change. */
export function checkWholeEvent(e: {
  starts_at: Date;
  ends_at: Date;
  registration_opens_at: Date | null;
  registration_closes_at: Date | null;
}): void {
  if (new Date(e.ends_at) < new Date(e.starts_at)) throw invalidInput("The event ends before it starts.");
  const opens = e.registration_opens_at;
  const closes = e.registration_closes_at;
  if (opens && closes && new Date(closes) < new Date(opens))
    throw invalidInput("Registration closes before it opens.");
}
