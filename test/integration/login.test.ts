import assert from "node:assert/strict";
import { test } from "node:test";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { assertAuditAttributed, type Suite } from "../helpers/identity.ts";

const alertOf = (html: string) => html.match(/role="alert">([^<]*)</)?.[1]?.trim();

/** One login attempt from a fresh browser. */
const attempt = (t: Suite, email: string, password: string) =>
  new Client(t.get().baseUrl).login(email, password);

/** The address the server sees for this test's requests, read from what it recorded. */
async function ourIp(t: Suite): Promise<string> {
  const row = await t
    .get()
    .runtime.database.db.selectFrom("login_attempts")
    .select("ip")
    .orderBy("id", "desc")
    .executeTakeFirstOrThrow();
  return row.ip;
}

forEachEngine("login", (engine) => {
  const t = suiteApp(engine);

  test("a failed login does not reveal whether the email exists", async () => {
    const member = await createMember(t.get().runtime);
    const unknown = await attempt(t, "nobody-here@example.org", member.password);
    const wrong = await attempt(t, member.email, "not the right password");
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, unknown.status);
    assert.ok(alertOf(unknown.text));
    assert.equal(alertOf(wrong.text), alertOf(unknown.text));
    // The pages differ only in the email typed back into the form.
    assert.equal(
      wrong.text.replaceAll(member.email, "EMAIL"),
      unknown.text.replaceAll("nobody-here@example.org", "EMAIL"),
    );
  });

  test("[G03] after 5 failures for one email even the right password waits (429 with Retry-After) in a browser that never signed in; other accounts still log in", async () => {
    const member = await createMember(t.get().runtime);
    const other = await createMember(t.get().runtime);
    for (let i = 0; i < 5; i++) assert.equal((await attempt(t, member.email, `wrong ${i}`)).status, 401);
    // The email key is case-insensitive, so changing case does not get around the count.
    const blocked = await attempt(t, member.email.toUpperCase(), member.password);
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get("retry-after")) > 0, "Retry-After says when to try again");
    assert.match(alertOf(blocked.text) ?? "", /Too many wrong passwords for this account/);
    assert.match(alertOf(blocked.text) ?? "", /Wait \d+ seconds/);
    assert.equal((await attempt(t, other.email, other.password)).status, 303, "same IP, other account");
  });

  test("[G03] 30 failures from one address across different emails slow that address down", async () => {
    const db = t.get().runtime.database.db;
    const member = await createMember(t.get().runtime);
    await attempt(t, "probe@example.org", "x");
    const ip = await ourIp(t);
    // Test setup: the address's throttle one short of its free failures.
    await db
      .updateTable("login_throttles")
      .set({ failures: 29, last_failure_at: new Date() })
      .where("key", "=", `address:${ip}`)
      .execute();
    try {
      assert.equal((await attempt(t, member.email, member.password)).status, 303, "29: not yet");
      assert.equal((await attempt(t, "spray-last@example.org", "x")).status, 401);
      const blocked = await attempt(t, member.email, member.password);
      assert.equal(blocked.status, 429, "the address waits although this email never failed");
      assert.ok(blocked.headers.get("retry-after"));
    } finally {
      await db.deleteFrom("login_throttles").where("key", "=", `address:${ip}`).execute();
    }
    assert.equal((await attempt(t, member.email, member.password)).status, 303);
  });

  test("after login only a path on this site is followed: tabs, backslashes and double slashes lead home", async () => {
    const { baseUrl, runtime } = t.get();
    const member = await createMember(runtime);
    const cases = [
      ["/members/me?tab=1#top", "/members/me?tab=1#top"],
      ["/\t/evil.example", "/"],
      ["/\\evil.example", "/"],
      ["//evil.example", "/"],
      ["/.//evil.example", "/"],
      ["https://evil.example/", "/"],
      ["/%09/evil.example", "/%09/evil.example"], // still encoded: a path here
    ];
    for (const [next, location] of cases) {
      const res = await new Client(baseUrl).request("POST", "/login", {
        form: { email: member.email, password: member.password, next: next! },
      });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get("location"), location, JSON.stringify(next));
      assert.equal(new URL(location!, baseUrl).origin, new URL(baseUrl).origin);
    }
    // The address bar's next reaches the form the same way; %09 there is a tab.
    const form = await new Client(baseUrl).get("/login?next=%2F%09%2Fevil.example");
    assert.match(form.text, /name="next" value="\/"/);
  });

  test("an email or password PostgreSQL cannot store (a NUL byte) is refused with 400, not a fault", async () => {
    const db = t.get().runtime.database.db;
    const attempts = async () =>
      Number(
        (
          await db
            .selectFrom("login_attempts")
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await attempts();
    const client = new Client(t.get().baseUrl);
    const forms: Record<string, string>[] = [
      { email: "\u0000", password: "x" },
      { email: "someone@example.org", password: "pass\u0000word" },
      { email: "someone@example.org", password: "x", next: "/\u0000" },
    ];
    for (const form of forms) {
      const res = await client.request("POST", "/login", { form });
      assert.equal(res.status, 400, JSON.stringify(form));
      assert.match(res.text, /not valid/);
    }
    assert.equal(await attempts(), before, "nothing was looked up or recorded");
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});
