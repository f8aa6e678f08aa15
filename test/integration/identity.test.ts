import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import {
  assertAuditAttributed,
  countRows,
  loggedIn,
  meWith,
  type Suite,
  sessionCookie,
  sha256,
} from "../helpers/identity.ts";

/** GET /api/v1/me with only this session cookie. */
const me = (t: Suite, token: string) => meWith(t.get().baseUrl, sessionCookie(token));

const sessionRow = (t: Suite, token: string) =>
  t
    .get()
    .runtime.database.db.selectFrom("sessions")
    .selectAll()
    .where("token_hash", "=", sha256(token))
    .executeTakeFirstOrThrow();

/** Test setup: moves a session's clock back; created_at moves too so its CHECK still holds. */
async function ageSession(t: Suite, token: string, lastSeenMinutesAgo: number, expiresMinutes?: number) {
  const db = t.get().runtime.database.db;
  await sql`UPDATE sessions SET created_at = now() - interval '10 hours',
    last_seen_at = now() - make_interval(mins => ${lastSeenMinutesAgo}),
    expires_at = coalesce(now() + make_interval(mins => ${expiresMinutes ?? null}::int), expires_at)
    WHERE token_hash = ${sha256(token)}`.execute(db);
}

forEachEngine("sessions", (engine) => {
  const t = suiteApp(engine);

  test("login sets an HttpOnly, SameSite=Lax session cookie and stores only its sha256 hash", async () => {
    const { token, res } = await loggedIn(t);
    const header = res.headers.getSetCookie().find((h) => h.startsWith("clubos_session="));
    assert.ok(header, "a Set-Cookie for the session");
    assert.match(header, /;\s*HttpOnly/i);
    assert.match(header, /;\s*SameSite=Lax/i);
    const row = await sessionRow(t, token);
    assert.equal(row.token_hash, sha256(token));
    const all = await t.get().runtime.database.db.selectFrom("sessions").selectAll().execute();
    assert.ok(!JSON.stringify(all).includes(token), "the raw token appears in no sessions column");
  });

  test("[G03] logging in again issues a new token and ends the old session", async () => {
    const { member, client, token: first } = await loggedIn(t);
    assert.equal((await me(t, first)).status, 200);
    // A signed-in browser posts the login form with the form's CSRF token, like any other form.
    const again = await client.postForm(
      "/login",
      { email: member.email, password: member.password },
      "/login",
    );
    assert.equal(again.status, 303);
    const second = client.cookie("clubos_session");
    assert.ok(second && second !== first, "a new token");
    assert.equal((await me(t, first)).status, 401, "the old cookie no longer works");
    assert.equal((await me(t, second)).status, 200);
    assert.equal((await sessionRow(t, first)).ended_reason, "rotated");
  });

  test("[G03] logout ends the session: the cookie no longer works, even replayed", async () => {
    const { client, token } = await loggedIn(t);
    const res = await client.postForm("/logout", {});
    assert.equal(res.status, 303);
    assert.equal(client.cookie("clubos_session"), undefined, "the browser's cookie is cleared");
    assert.equal((await me(t, token)).status, 401);
    const row = await sessionRow(t, token);
    assert.ok(row.ended_at);
    assert.equal(row.ended_reason, "logout");
  });

  test("[G03] a session idle longer than the idle timeout (30 min default) ends with reason idle", async () => {
    const { token } = await loggedIn(t);
    await ageSession(t, token, 2);
    assert.equal((await me(t, token)).status, 200, "2 minutes idle is fine at 30");
    await ageSession(t, token, 31);
    assert.equal((await me(t, token)).status, 401);
    const row = await sessionRow(t, token);
    assert.ok(row.ended_at);
    assert.equal(row.ended_reason, "idle");
    await ageSession(t, token, 0);
    assert.equal((await me(t, token)).status, 401, "an ended session stays ended");
  });

  test("[G03] a session in use is marked as seen, so its idle time counts from its last use; a session seen in the last 15 seconds is not written again", async () => {
    const { token } = await loggedIn(t);
    await ageSession(t, token, 20);
    assert.equal((await me(t, token)).status, 200);
    const touched = (await sessionRow(t, token)).last_seen_at;
    const ago = (
      await sql<{
        s: number;
      }>`SELECT extract(epoch FROM now() - ${touched}::timestamptz)::float8 AS s`.execute(
        t.get().runtime.database.db,
      )
    ).rows[0]!.s;
    assert.ok(ago < 60, `last seen ${ago} s ago after use, not 20 minutes`);
    await sql`UPDATE sessions SET last_seen_at = now() - interval '1 second' WHERE token_hash = ${sha256(token)}`.execute(
      t.get().runtime.database.db,
    );
    const recent = (await sessionRow(t, token)).last_seen_at;
    assert.equal((await me(t, token)).status, 200);
    assert.deepEqual((await sessionRow(t, token)).last_seen_at, recent, "seen a second ago: no write");
  });

  test("[G03] a session past its absolute lifetime ends with reason absolute", async () => {
    const { token } = await loggedIn(t);
    await ageSession(t, token, 0, -1);
    assert.equal((await me(t, token)).status, 401);
    const row = await sessionRow(t, token);
    assert.ok(row.ended_at);
    assert.equal(row.ended_reason, "absolute");
  });

  test("[G03] a cookie-authenticated POST without the CSRF token gets 403 csrf and writes nothing", async () => {
    const { client } = await loggedIn(t, ["member", "operator"]);
    const before = await countRows(t, "audit_log");
    const res = await client.request("POST", "/api/v1/system/mode", {
      json: { mode: "read-only", reason: "csrf attempt" },
    });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.text).error.code, "csrf");
    assert.equal(await countRows(t, "audit_log"), before);
    assert.equal((await t.get().runtime.modes.refresh())?.mode, "normal");
  });

  test("[G03] a POST with another site's Origin is refused even with a valid CSRF token", async () => {
    const { client } = await loggedIn(t, ["member", "operator"]);
    const csrf = await client.csrf();
    assert.ok(csrf);
    const before = await countRows(t, "audit_log");
    const send = (origin: string, mode: string) =>
      client.request("POST", "/api/v1/system/mode", {
        json: { mode, reason: "origin check" },
        headers: { origin, "x-csrf-token": csrf },
      });
    const res = await send("https://evil.example", "read-only");
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.text).error.code, "csrf");
    assert.equal(await countRows(t, "audit_log"), before);
    assert.equal((await t.get().runtime.modes.refresh())?.mode, "normal");
    // The same request from our own origin goes through, so the refusal above was the origin's doing.
    assert.equal((await send(t.get().baseUrl, "normal")).status, 200);
    assert.equal(await countRows(t, "audit_log"), before + 1);
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});

forEachEngine("sessions with CLUBOS_SESSION_IDLE_MINUTES=1", (engine) => {
  const t = suiteApp(engine, { CLUBOS_SESSION_IDLE_MINUTES: "1" });

  test("[G03] the idle timeout is configurable: 2 minutes idle ends the session", async () => {
    const { token } = await loggedIn(t);
    assert.equal((await me(t, token)).status, 200);
    await ageSession(t, token, 2);
    assert.equal((await me(t, token)).status, 401);
    assert.equal((await sessionRow(t, token)).ended_reason, "idle");
  });
});
