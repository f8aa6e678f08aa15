import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeText, foldLine, icsDate, renderCalendar } from "../../src/domains/events/ical.ts";

const unfold = (text: string) => text.replace(/\r\n /g, "");
const octets = (line: string) => Buffer.byteLength(line, "utf8");

test("TEXT values escape backslashes, semicolons, commas and every kind of newline (RFC 5545 3.3.11)", () => {
  assert.equal(escapeText("a,b;c\\d"), "a\\,b\\;c\\\\d");
  assert.equal(escapeText("one\r\ntwo\nthree\rfour"), "one\\ntwo\\nthree\\nfour");
  // The backslash is escaped first, so an escape the user typed cannot turn into a real one.
  assert.equal(escapeText("\\n"), "\\\\n");
  assert.equal(escapeText("plain: text"), "plain: text", "colons need no escaping in a value");
});

test("lines are folded at 75 octets with a leading space, and unfold to the original", () => {
  const line = `DESCRIPTION:${"x".repeat(300)}`;
  const folded = foldLine(line);
  const physical = folded.split("\r\n");
  assert.ok(physical.length > 4, "a long line is folded");
  for (const [i, part] of physical.entries()) {
    assert.ok(octets(part) <= 75, `line ${i} has ${octets(part)} octets`);
    if (i > 0) assert.ok(part.startsWith(" "), "a continuation line starts with one space");
  }
  assert.equal(octets(physical[0]!), 75, "the first line is used to the full 75 octets");
  assert.equal(unfold(folded), line);
  assert.equal(foldLine("SUMMARY:short"), "SUMMARY:short", "a short line is left alone");
  assert.equal(foldLine(`X:${"y".repeat(73)}`).includes("\r\n"), false, "exactly 75 octets stays one line");
});

test("folding counts octets, not characters, and never splits a UTF-8 character", () => {
  const line = `SUMMARY:${"é🎉ü".repeat(40)}`;
  const physical = foldLine(line).split("\r\n");
  for (const part of physical) {
    assert.ok(octets(part) <= 75, `${octets(part)} octets`);
    assert.equal(Buffer.from(part, "utf8").toString("utf8"), part);
    assert.ok(!part.includes("\uFFFD"), "no character was cut in half");
  }
  assert.equal(unfold(physical.join("\r\n")), line);
});

test("a calendar uses CRLF, UTC times with Z, escaped text, and STATUS:CANCELLED for cancelled events", () => {
  const base = {
    description: "Bring food, drinks; and\nfriends",
    location: "Hall 1, Main St",
    starts_at: new Date("2026-05-01T18:30:00.000Z"),
    ends_at: new Date("2026-05-01T21:00:00.000Z"),
    version: 3,
    updated_at: new Date("2026-04-01T09:15:07.123Z"),
  };
  const ics = renderCalendar({
    name: "Club, events",
    baseUrl: "https://club.example",
    events: [
      { ...base, id: "11111111-1111-4111-8111-111111111111", title: "Quiz night", status: "published" },
      { ...base, id: "22222222-2222-4222-8222-222222222222", title: "Picnic", status: "cancelled" },
    ],
  });
  assert.ok(ics.endsWith("\r\n"));
  assert.equal(/[^\r]\n/.test(ics), false, "every line ends in CRLF");
  for (const line of ics.split("\r\n")) assert.ok(octets(line) <= 75);
  const text = unfold(ics);
  assert.match(text, /^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\nPRODID:/);
  assert.match(text, /X-WR-CALNAME:Club\\, events\r\n/);
  assert.match(text, /UID:11111111-1111-4111-8111-111111111111@clubos\r\n/);
  assert.match(text, /DTSTART:20260501T183000Z\r\nDTEND:20260501T210000Z\r\n/);
  assert.match(text, /DTSTAMP:20260401T091507Z\r\n/);
  assert.match(text, /DESCRIPTION:Bring food\\, drinks\\; and\\nfriends\r\n/);
  assert.match(text, /LOCATION:Hall 1\\, Main St\r\n/);
  assert.match(text, /URL:https:\/\/club\.example\/events\/22222222-2222-4222-8222-222222222222\r\n/);
  assert.match(text, /SUMMARY:Quiz night\r\n[\s\S]*STATUS:CONFIRMED\r\nEND:VEVENT/);
  assert.match(text, /SUMMARY:Picnic\r\n[\s\S]*STATUS:CANCELLED\r\nEND:VEVENT/);
  assert.equal(text.match(/BEGIN:VEVENT/g)?.length, 2);
  assert.ok(text.endsWith("END:VCALENDAR\r\n"));
  assert.equal(icsDate(new Date("2026-12-31T23:59:59.999Z")), "20261231T235959Z");
});
