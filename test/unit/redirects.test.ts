import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { sameSitePath } from "../../src/http/redirects.ts";

const ORIGIN = "https://club.example.org";

/** Where a browser goes when it reads this Location on our site. */
const resolved = (location: string) => new URL(location, `${ORIGIN}/login`);

test("paths on this site are kept with their query and fragment", () => {
  for (const path of ["/", "/members/me", "/events?when=past", "/admin/members/import/1#rows", "/a%20b"]) {
    assert.equal(sameSitePath(path), path);
  }
});

test("anything that could leave the site, or is not a path, leads home", () => {
  const hostile = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/.//evil.example",
    "/..//evil.example",
    "/%2e%2e//evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    " /members",
    "",
    undefined,
    42,
    ["/members"],
  ];
  for (const next of hostile) assert.equal(sameSitePath(next), "/", JSON.stringify(next));
});

test("encoded tabs and slashes stay encoded: a path here, not another host", () => {
  for (const next of ["/%09/evil.example", "/%2F/evil.example", "/%5Cevil.example"]) {
    const location = sameSitePath(next);
    assert.equal(location, next);
    assert.equal(resolved(location).origin, ORIGIN);
  }
});

// Pieces that URL parsers treat specially, so that random strings hit the tricky cases often.
const piece = fc.oneof(
  fc.constantFrom(
    "/",
    "//",
    "\\",
    "\t",
    "\n",
    "\r",
    " ",
    ".",
    "..",
    "./",
    "../",
    "%09",
    "%2F",
    "%2f",
    "%5C",
    "%2e",
  ),
  fc.constantFrom(":", "@", "?", "#", "http:", "https://", "evil.example", "\u0000", "\u00a0", "é", "\u3002"),
  fc.string({ maxLength: 4 }),
  fc.string({ unit: "binary", maxLength: 4 }),
);
const candidate = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.array(piece, { maxLength: 8 }).map((parts) => parts.join("")),
  fc.array(piece, { maxLength: 8 }).map((parts) => `/${parts.join("")}`),
);

test("property: for any string the result is '/' or one leading slash that stays on this site", () => {
  fc.assert(
    fc.property(candidate, (next) => {
      const location = sameSitePath(next);
      if (location === "/") return;
      assert.ok(location.startsWith("/") && !location.startsWith("//"), location);
      assert.match(location, /^[\x21-\x7e]+$/, "printable ASCII only: a valid Location header");
      assert.equal(resolved(location).origin, ORIGIN, location);
      assert.equal(sameSitePath(location), location, "checking again changes nothing");
    }),
    { numRuns: 5000 },
  );
});
