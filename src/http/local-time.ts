import { invalidInput } from "../core/errors.ts";
import { dateTimeFormat } from "../core/time-format.ts";

/** Times in forms: a datetime-local field has no zone, so ClubOS reads and writes it as wall time in the
 * club's zone (events, scheduled publishing). */

/** A time as a datetime-local value in the club's zone ("2026-05-01T19:30"); the form has no zone. */
export function localInputValue(date: Date | null, timeZone: string): string {
  if (!date) return "";
  const parts = Object.fromEntries(
    dateTimeFormat("en-GB", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    })
      .formatToParts(new Date(date))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

/** A datetime-local value read as wall time in the club's zone, as an ISO instant; "" is null. */
export function fromLocalInput(value: string | undefined, timeZone: string): string | null {
  const text = (value ?? "").trim();
  if (!text) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw invalidInput(`"${text}" is not a date and time like 2026-05-01T19:30.`);
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
  // The zone's offset at an instant; asked twice so a time next to a DST change lands right.
  const offset = (t: number) => Date.parse(`${localInputValue(new Date(t), timeZone)}:00Z`) - t;
  const guess = wall - offset(wall);
  return new Date(wall - offset(guess)).toISOString();
}
