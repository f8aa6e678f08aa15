import assert from "node:assert/strict";
import { test } from "node:test";
import { createMember, suiteApp, type TestApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn, meWith, sessionCookie, sha256 } from "../helpers/identity.ts";
import {
  adminPost,
  auditOf,
  expireLinks,
  mainOf,
  memberWithoutLogin,
  rowsHolding,
  shownLinks,
  tokenOf,
} from "../helpers/links.ts";

const NEW_PASSWORD = "my brand new passphrase";

/** Asks for a reset on the public form, as a visitor. */
const forgot = (app: TestApp, email: string) =>
  new Client(app.baseUrl).request("POST", "/password-reset", { form: { email } });

/** The reset link of the newest queued reset message to this address (the local mailbox holds it). */
async function queuedLink(app: TestApp, email: string): Promise<string | undefined> {
  const row = await app.runtime.database.db
    .selectFrom("outbox")
    .select("body")
    .where("topic", "=", "account.password_reset")
    .where("recipient", "=", email)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
  return row?.body?.match(/http:\/\/club\.test(\/password-reset\/[A-Za-z0-9_-]+)/)?.[1];
}

const resetMessages = async (app: TestApp) =>
  (
    await app.runtime.database.db
      .selectFrom("outbox")
      .select("id")
      .where("topic", "=", "account.password_reset")
      .execute()
  ).length;

forEachEngine("password reset", (engine) => {
  const t = suiteApp(engine, { CLUBOS_PUBLIC_URL: "http://club.test" });

  test("the login page offers “Forgot your password?” instead of asking an administrator", async () => {
    const page = await new Client(t.get().baseUrl).get("/login");
    assert.match(page.text, /href="\/password-reset"/);
    assert.doesNotMatch(page.text, /ask an administrator/i);
  });

  test("a known and an unknown address get the same answer; both do the same work, only the known one queues a link", async () => {
    const app = t.get();
    const member = await createMember(app.runtime, []);
    const noLogin = await memberWithoutLogin(app);
    const before = await resetMessages(app);
    const auditBefore = (await auditOf(app, "password_reset.requested")).length;
    const known = await forgot(app, member.email.toUpperCase());
    const unknown = await forgot(app, `nobody-${Date.now()}@example.org`);
    const withoutLogin = await forgot(app, noLogin.email);
    for (const other of [unknown, withoutLogin]) {
      assert.equal(other.status, known.status);
      assert.equal(mainOf(other.text), mainOf(known.text), "word for word the same page");
    }
    assert.equal(known.status, 200);
    assert.match(known.text, /If this address belongs to a member with a login/);
    assert.equal(await resetMessages(app), before + 1, "one message, for the known address only");
    assert.ok(await queuedLink(app, member.email), "queued through the outbox (never shown on the page)");
    assert.doesNotMatch(known.text, /password-reset\/[A-Za-z0-9_-]{20,}/);
    const audit = await auditOf(app, "password_reset.requested");
    assert.equal(audit.length, auditBefore + 3, "every request writes its audit entry, known or not");
    const unknownEntry = audit.at(-2)!;
    assert.equal(unknownEntry.subject_type, "email");
    assert.doesNotMatch(JSON.stringify(unknownEntry), /nobody-/, "a typed address is not kept in the log");
  });

  test("a reset link sets a new password once, ends every session of the person, and clears their login throttle", async () => {
    const app = t.get();
    const { member, token: firstSession } = await loggedIn(t, []);
    const second = new Client(app.baseUrl);
    assert.equal((await second.login(member.email, member.password)).status, 303);
    for (let i = 0; i < 5; i++) await new Client(app.baseUrl).login(member.email, "wrong password guess");
    assert.equal(
      (await new Client(app.baseUrl).login(member.email, member.password)).status,
      429,
      "the guesses throttled the account",
    );
    await forgot(app, member.email);
    const path = (await queuedLink(app, member.email))!;
    assert.ok(path);
    const stored = await app.runtime.database.db
      .selectFrom("account_links")
      .select(["token_hash", "created_at", "expires_at"])
      .where("member_id", "=", member.memberId)
      .executeTakeFirstOrThrow();
    assert.equal(stored.token_hash, sha256(tokenOf(path)), "stored by its hash");
    assert.equal(
      new Date(stored.expires_at).getTime() - new Date(stored.created_at).getTime(),
      30 * 60_000,
      "valid for 30 minutes",
    );
    const form = await new Client(app.baseUrl).get(path);
    assert.equal(form.status, 200);
    assert.match(form.text, /Choose a new password/);
    const done = await new Client(app.baseUrl).request("POST", path, {
      form: { password: NEW_PASSWORD, confirm: NEW_PASSWORD },
    });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "/login?done=password_reset");
    assert.equal((await meWith(app.baseUrl, sessionCookie(firstSession))).status, 401, "signed out there");
    assert.equal((await second.get("/api/v1/me")).status, 401, "and there");
    const entry = (await auditOf(app, "password_reset.completed")).at(-1)!;
    assert.equal(entry.actor_id, `member:${member.memberId}`);
    assert.equal((entry.after as { sessionsEnded: number }).sessionsEnded, 2);
    assert.equal((await new Client(app.baseUrl).login(member.email, member.password)).status, 401);
    assert.equal(
      (await new Client(app.baseUrl).login(member.email, NEW_PASSWORD)).status,
      303,
      "the new password signs in at once: the reset cleared the throttle",
    );
    const reused = await new Client(app.baseUrl).request("POST", path, {
      form: { password: "yet another passphrase", confirm: "yet another passphrase" },
    });
    assert.equal(reused.status, 404, "the link works once");
  });

  test("a reset link stops working after its 30 minutes, and a newer one replaces it; both look like a made-up link", async () => {
    const app = t.get();
    const member = await createMember(app.runtime, []);
    await forgot(app, member.email);
    const first = (await queuedLink(app, member.email))!;
    await forgot(app, member.email);
    const second = (await queuedLink(app, member.email))!;
    assert.notEqual(first, second);
    const replaced = await new Client(app.baseUrl).get(first);
    await expireLinks(app, member.memberId);
    const expired = await new Client(app.baseUrl).get(second);
    const madeUp = await new Client(app.baseUrl).get(`/password-reset/${"x".repeat(43)}`);
    for (const page of [replaced, expired, madeUp]) {
      assert.equal(page.status, 404);
      assert.equal(mainOf(page.text), mainOf(madeUp.text));
    }
    assert.match(madeUp.text, /Ask for a new one on the login page/);
    const tried = await new Client(app.baseUrl).request("POST", second, {
      form: { password: NEW_PASSWORD, confirm: NEW_PASSWORD },
    });
    assert.equal(tried.status, 404);
    assert.equal(
      (await new Client(app.baseUrl).login(member.email, member.password)).status,
      303,
      "unchanged",
    );
  });

  test("an admin sends a reset: without a mail server the link is shown once and stored nowhere in clear", async () => {
    const app = t.get();
    const admin = (await loggedIn(t, ["membership_chair"])).client;
    const member = await createMember(app.runtime, []);
    const before = await resetMessages(app);
    const sent = await adminPost(admin, `/admin/members/${member.memberId}/password-reset`, member.memberId);
    assert.equal(sent.status, 200, sent.text);
    assert.match(sent.text, /Not sent: no mail server is configured/);
    const path = shownLinks(sent.text)[0]!;
    assert.ok(path.startsWith("/password-reset/"));
    assert.deepEqual(await rowsHolding(app, tokenOf(path)), [], "the clear token is in no table");
    assert.equal(await resetMessages(app), before, "no message holds it either");
    assert.equal((await auditOf(app, "password_reset.sent", member.memberId)).length, 1);
    const done = await new Client(app.baseUrl).request("POST", path, {
      form: { password: NEW_PASSWORD, confirm: NEW_PASSWORD },
    });
    assert.equal(done.status, 303);
    assert.equal((await new Client(app.baseUrl).login(member.email, NEW_PASSWORD)).status, 303);

    const newcomer = await memberWithoutLogin(app);
    const refused = await adminPost(
      admin,
      `/admin/members/${newcomer.memberId}/password-reset`,
      newcomer.memberId,
    );
    assert.equal(refused.status, 409);
    assert.match(refused.text, /has no login yet/);
  });
});
