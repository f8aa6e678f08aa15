import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { oneTimePassword } from "../../src/core/secrets.ts";
import { assertAcceptablePassword, isCommonPassword } from "../../src/domains/identity/passwords.ts";

const LIST = path.resolve(import.meta.dirname, "../../src/domains/identity/data/common-passwords.txt");

test("the shipped list of common passwords is there, large, and what the rule reads", () => {
  const lines = fs.readFileSync(LIST, "utf8").split("\n").filter(Boolean);
  assert.ok(lines.length > 40_000, `${lines.length} entries`);
  // Every long entry of the list is refused: the rule reads this very file.
  for (const entry of lines.filter((l) => [...l].length >= 12).slice(0, 200)) {
    assert.ok(isCommonPassword(entry), entry);
    assert.throws(() => assertAcceptablePassword(entry), /common passwords/);
  }
});

test("common passwords are refused whatever their case and with digits or symbols around them", () => {
  for (const p of ["PASSWORD", "Password2024!", "!!dragon!!!!", "1qaz2wsx3edc", "Qwertyuiop123"])
    assert.ok(isCommonPassword(p), p);
  for (const p of ["correct horse battery staple", "our club meets on tuesdays", oneTimePassword()])
    assert.ok(!isCommonPassword(p), p);
});

test("too short, too long, common: each refused in plain words; a sentence passes", () => {
  assert.throws(() => assertAcceptablePassword("short one"), /at least 12 characters/);
  assert.throws(() => assertAcceptablePassword("x".repeat(257)), /at most 256/);
  assert.throws(() => assertAcceptablePassword("iloveyou12345"), /Choose another one/);
  assert.doesNotThrow(() => assertAcceptablePassword("the tide comes in at noon"));
  assert.doesNotThrow(() => assertAcceptablePassword(oneTimePassword()), "the one-time password passes");
});
