import { dateTimeFormat } from "../core/time-format.ts";

/** Helpers every presenter uses: the API shows instants as ISO 8601 in UTC and calendar dates as
 * YYYY-MM-DD, whatever the engine handed back (a Date, or text). */

/** An instant as ISO 8601. */
export function iso(value: Date | string): string {
  return new Date(value).toISOString();
}

/** An instant as ISO 8601, or null. */
export function isoOrNull(value: Date | string | null | undefined): string | null {
  return value === null || value === undefined ? null : iso(value);
}

/** A calendar date (a PostgreSQL date) as YYYY-MM-DD, or null. */
export function dateOnly(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value.slice(0, 10);
  // A date column arrives as local midnight from pg and as UTC midnight from PGlite; whichever midnight
  // it is, its calendar day is read in that clock (the two agree where the offset is zero).
  const pad = (n: number) => String(n).padStart(2, "0");
  if (value.getUTCHours() === 0 && value.getUTCMinutes() === 0)
    return `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}`;
  return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
}

/** An instant as the club reads it on a page: date and minutes in the club's time zone, 2026-05-01 19:30. */
export function clubDateTime(value: Date | string, timeZone: string): string {
  return dateTimeFormat("en-CA", {
    timeZone,
    dateStyle: "short",
    timeStyle: "short",
    hourCycle: "h23",
  }).format(new Date(value));
}
