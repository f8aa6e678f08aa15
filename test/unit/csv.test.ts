import assert from "node:assert/strict";
import { test } from "node:test";
import { mapHeader, mapStatus, parseDate } from "../../src/domains/members/import/columns.ts";
import {
  assertReadableText,
  csvField,
  decodeCsvBytes,
  parseCsv,
  protectFormula,
  toCsv,
  unprotectFormula,
} from "../../src/domains/members/import/csv.ts";

const fields = (text: string) => parseCsv(text).map((r) => r.fields);

test("plain records with LF, CRLF and a missing final newline", () => {
  assert.deepEqual(fields("a,b\n1,2\n"), [
    ["a", "b"],
    ["1", "2"],
  ]);
  assert.deepEqual(fields("a,b\r\n1,2\r\n3,4"), [
    ["a", "b"],
    ["1", "2"],
    ["3", "4"],
  ]);
});

test("quoted fields keep commas, doubled quotes and embedded newlines; lines are counted", () => {
  const records = parseCsv('name,note\r\n"Doe, Jane","say ""hi"""\r\n"multi\r\nline",x\r\nlast,y\r\n');
  assert.deepEqual(
    records.map((r) => r.fields),
    [
      ["name", "note"],
      ["Doe, Jane", 'say "hi"'],
      ["multi\r\nline", "x"],
      ["last", "y"],
    ],
  );
  assert.deepEqual(
    records.map((r) => r.line),
    [1, 2, 3, 5],
    "a record after an embedded newline starts on the right line",
  );
});

test("empty fields, empty quoted fields and blank lines", () => {
  assert.deepEqual(fields('a,,""\n\n,,\nb,c,d\n'), [
    ["a", "", ""],
    ["b", "c", "d"],
  ]);
});

test("a byte order mark is dropped", () => {
  assert.deepEqual(fields("\uFEFFemail\nx@y.z\n"), [["email"], ["x@y.z"]]);
});

test("a stray quote marks only its own record as malformed", () => {
  const records = parseCsv('a,b\nab"c,d\n"x"y,z\nok,1\n');
  assert.equal(records[0]!.error, undefined);
  assert.match(records[1]!.error!, /quote inside an unquoted field/);
  assert.match(records[2]!.error!, /follows a closing quote/);
  assert.equal(records[3]!.error, undefined);
  assert.deepEqual(records[3]!.fields, ["ok", "1"]);
});

test("a quoted field never closed is a file-level error naming the line it opened on", () => {
  assert.throws(
    () => parseCsv('a,b\n1,2\n3,"open\nstill open\n'),
    (e: Error & { code?: string }) => e.code === "csv_invalid" && /Line 3/.test(e.message),
  );
});

test("bytes must be UTF-8: another encoding is refused naming the first bad line", () => {
  assert.equal(decodeCsvBytes(Buffer.from("name\nJosé\n", "utf8")), "name\nJosé\n");
  const latin1 = Buffer.from("name,email\nok,a@b.c\nJos\xe9,j@b.c\n", "latin1");
  assert.throws(
    () => decodeCsvBytes(latin1),
    (e: Error & { code?: string }) =>
      e.code === "csv_invalid" && /Line 3/.test(e.message) && /CSV UTF-8/.test(e.message),
  );
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("email", "utf16le")]);
  assert.throws(() => decodeCsvBytes(utf16), /UTF-16/);
});

test("pasted text with replacement characters or NUL is refused with its line", () => {
  assert.doesNotThrow(() => assertReadableText("name\nJosé\n"));
  assert.throws(() => assertReadableText("name\nok\nJos\uFFFD\n"), /Line 3/);
  assert.throws(() => assertReadableText("a\0b"), /not a CSV/);
  // Text that PostgreSQL cannot store is refused with its line; a whole emoji is fine.
  assert.doesNotThrow(() => assertReadableText("name\nAnn \u{1F600}\n"));
  assert.throws(() => assertReadableText("name\nAnn\nB\ud83d\n"), /Line 3: .*broken character/);
  assert.throws(() => assertReadableText("name\n\ude00"), /Line 2/);
});

test("writing: RFC 4180 quoting and CRLF line ends", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField("cr\rhere"), '"cr\rhere"');
  assert.equal(
    toCsv([
      ["a", "b"],
      ["1", "2"],
    ]),
    "a,b\r\n1,2\r\n",
  );
});

test("formula injection: =, +, -, @, tab and CR get a leading quote, and the import undoes it", () => {
  for (const v of ["=cmd()", "+44 20", "-1", "@SUM(A1)", "\tx", "\rx"]) {
    assert.equal(protectFormula(v), `'${v}`);
    assert.equal(unprotectFormula(protectFormula(v)), v);
  }
  assert.equal(protectFormula("plain"), "plain");
  assert.equal(unprotectFormula("'plain"), "'plain", "an ordinary leading quote stays");
  assert.equal(toCsv([["=1+2", "a"]]), "'=1+2,a\r\n");
  assert.equal(toCsv([["=a,b"]]), '"\'=a,b"\r\n');
});

test("round trip: whatever is written parses back to the same values", () => {
  const rows = [
    ["name", "note"],
    ['Quote "q"', "comma, here"],
    ["multi\r\nline", "x\ny"],
    ["", "Zoë 🎉"],
  ];
  assert.deepEqual(fields(toCsv(rows)), rows);
});

test("headers: ClubOS and Wild Apricot names map; unknown columns are listed; no email column is refused", () => {
  const wa = mapHeader([
    "First name",
    "Last name",
    "Email",
    "Membership level",
    "Member since",
    "Organization",
  ]);
  assert.deepEqual(wa.index, { first_name: 0, last_name: 1, email: 2, tier: 3, joined_on: 4 });
  assert.deepEqual(wa.ignored, ["Organization"]);
  assert.deepEqual(mapHeader(["renewal_due_on", "EMAIL"]).index, { renewal_due_on: 0, email: 1 });
  assert.throws(() => mapHeader(["name", "phone"]), /no email column/);
  assert.throws(() => mapHeader(["name;email;phone"]), /semicolons/);
  assert.throws(() => mapHeader(["email", "E-mail"]), /both give the email/);
});

test("statuses: ours and Wild Apricot's map, anything else does not", () => {
  assert.equal(mapStatus("Active"), "active");
  assert.equal(mapStatus("Lapsed"), "lapsed");
  assert.equal(mapStatus("Pending - New"), "pending");
  assert.equal(mapStatus("Pending - Renewal"), "active");
  assert.equal(mapStatus("Suspended"), "suspended");
  assert.equal(mapStatus("resigned"), "resigned");
  assert.equal(mapStatus("Gold"), undefined);
});

test("dates: ISO and '31 Jan 2026' forms; impossible or ambiguous dates are refused", () => {
  assert.equal(parseDate("2026-01-31"), "2026-01-31");
  assert.equal(parseDate("2026/1/5"), "2026-01-05");
  assert.equal(parseDate("2026-01-31T00:00:00"), "2026-01-31");
  assert.equal(parseDate("5 Jan 2026"), "2026-01-05");
  assert.equal(parseDate("05 January 2026"), "2026-01-05");
  assert.equal(parseDate("2026-02-30"), undefined);
  assert.equal(parseDate("01/02/2026"), undefined);
  assert.equal(parseDate("soon"), undefined);
});
