/** iCalendar (RFC 5545) output for event feeds: just VCALENDAR and VEVENT, written by hand because the
 * subset is small. Lines end in CRLF, are folded at 75 octets, and text values are escaped. */

/** What one VEVENT is made from. */
export interface CalendarEvent {
  id: string;
  title: string;
  description: string;
  location: string;
  starts_at: Date;
  ends_at: Date;
  status: string;
  version: number;
  updated_at: Date;
}

const CRLF = "\r\n";

/** Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines. */
export function escapeText(value: string): string {
  return value
    .replace(/\\/g, "\\\\")
    .replace(/;/g, "\\;")
    .replace(/,/g, "\\,")
    .replace(/\r\n|\r|\n/g, "\\n");
}

/** Folds a content line so no line is longer than 75 octets (RFC 5545 3.1): each continuation line
 * starts with one space. Never splits a UTF-8 character. */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = "";
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char, "utf8");
    if (octets + size > 75) {
      parts.push(current);
      current = " ";
      octets = 1; // the leading space counts towards the 75
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join(CRLF);
}

/** A UTC DATE-TIME value: 20260501T183000Z. */
export function icsDate(date: Date): string {
  return new Date(date)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

function vevent(event: CalendarEvent, baseUrl: string): string[] {
  const lines = [
    "BEGIN:VEVENT",
    `UID:${event.id}@clubos`,
    `DTSTAMP:${icsDate(event.updated_at)}`,
    `LAST-MODIFIED:${icsDate(event.updated_at)}`,
    // Calendar apps replace an event they already have when SEQUENCE grows: every edit bumps version.
    `SEQUENCE:${Math.max(0, event.version - 1)}`,
    `DTSTART:${icsDate(event.starts_at)}`,
    `DTEND:${icsDate(event.ends_at)}`,
    `SUMMARY:${escapeText(event.title)}`,
  ];
  if (event.description) lines.push(`DESCRIPTION:${escapeText(event.description)}`);
  if (event.location) lines.push(`LOCATION:${escapeText(event.location)}`);
  lines.push(`URL:${baseUrl}/events/${event.id}`);
  lines.push(`STATUS:${event.status === "cancelled" ? "CANCELLED" : "CONFIRMED"}`);
  lines.push("END:VEVENT");
  return lines;
}

/** A whole calendar: the events as VEVENTs, named for the club. */
export function renderCalendar(options: { name: string; baseUrl: string; events: CalendarEvent[] }): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//ClubOS//Club events//EN",
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    `X-WR-CALNAME:${escapeText(options.name)}`,
    ...options.events.flatMap((e) => vevent(e, options.baseUrl)),
    "END:VCALENDAR",
  ];
  return lines.map(foldLine).join(CRLF) + CRLF;
}
