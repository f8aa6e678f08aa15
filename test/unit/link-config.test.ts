import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/app/config.ts";

test("invitation and reset links: 7 days and 30 minutes by default, configurable", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.invitationDays, 7);
  assert.equal(defaults.passwordResetMinutes, 30);
  const set = loadConfig({ CLUBOS_INVITATION_DAYS: "14", CLUBOS_PASSWORD_RESET_MINUTES: "15" });
  assert.equal(set.invitationDays, 14);
  assert.equal(set.passwordResetMinutes, 15);
  assert.throws(
    () => loadConfig({ CLUBOS_INVITATION_DAYS: "0" }),
    /CLUBOS_INVITATION_DAYS must be a positive/,
  );
});

test("CLUBOS_PUBLIC_URL: the address in mailed links, without a trailing slash; a bad one stops the start", () => {
  assert.equal(loadConfig({ PORT: "8080" }).publicUrl, "http://localhost:8080");
  assert.equal(
    loadConfig({ CLUBOS_PUBLIC_URL: "https://club.example.org/" }).publicUrl,
    "https://club.example.org",
  );
  assert.equal(
    loadConfig({ CLUBOS_PUBLIC_URL: "https://example.org/club" }).publicUrl,
    "https://example.org/club",
  );
  for (const bad of ["club.example.org", "ftp://club.example.org", "https://club.example.org/?x=1"])
    assert.throws(() => loadConfig({ CLUBOS_PUBLIC_URL: bad }), /CLUBOS_PUBLIC_URL must be/, bad);
});
