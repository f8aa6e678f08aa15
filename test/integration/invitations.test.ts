import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { accountLinkInvariantChecks } from "../../src/domains/identity/account-links.invariants.ts";
import { createMember, startTestApp, suiteApp, type TestApp } from "../helpers/app.ts";
import { runVerb } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn, sha256 } from "../helpers/identity.ts";
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
import { startTestSmtp, type TestSmtp } from "../helpers/smtp.ts";

const PASSWORD = "a long enough passphrase";
const BASE = { CLUBOS_PUBLIC_URL: "http://club.test" };

/** Sets a password through a link as a visitor (no cookie); returns the response. */
async function setPassword(baseUrl: string, path: string, password = PASSWORD, confirm = password) {
  return new Client(baseUrl).request("POST", path, { form: { password, confirm } });
}

/** Runs a clubos verb against a running app's runtime, collecting what it prints. */
const clubos = (app: TestApp, ...argv: string[]) => runVerb(app.runtime, ...argv);

const loginCount = async (app: TestApp, memberId: string) =>
  (
    await app.runtime.database.db
      .selectFrom("accounts")
      .select("id")
      .where("member_id", "=", memberId)
      .execute()
  ).length;

forEachEngine("invitations without a mail server", (engine) => {
  const t = suiteApp(engine, BASE);
  let admin: Client;
  before(async () => {
    admin = (await loggedIn(t, ["membership_chair"])).client;
  });

  test("an invited member sets a password through the link, once: the link is shown to the admin once, stored only hashed, and accepting is audited", async () => {
    const app = t.get();
    const invitee = await memberWithoutLogin(app);
    const sent = await adminPost(admin, `/admin/members/${invitee.memberId}/invite`, invitee.memberId);
    assert.equal(sent.status, 200, sent.text);
    assert.match(sent.text, /Not sent: no mail server is configured/);
    const path = shownLinks(sent.text)[0]!;
    assert.ok(path.startsWith("/invitation/"), "the link is shown, at the configured address");
    const token = tokenOf(path);

    const rows = await app.runtime.database.db
      .selectFrom("account_links")
      .selectAll()
      .where("member_id", "=", invitee.memberId)
      .execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.token_hash, sha256(token), "only the token's sha256 is kept");
    assert.deepEqual(
      await rowsHolding(app, token),
      [],
      "the clear token is in no table (no outbox row either)",
    );
    const memberPage = await admin.get(`/admin/members/${invitee.memberId}`);
    assert.doesNotMatch(memberPage.text, new RegExp(token), "the link is not shown again");
    assert.match(memberPage.text, /Invited on/);
    const list = await admin.get(`/admin/members?search=${encodeURIComponent(invitee.email)}`);
    assert.match(list.text, /<td>invited<\/td>/, "the member list marks the pending invitation");

    const form = await new Client(app.baseUrl).get(path);
    assert.equal(form.status, 200);
    assert.match(form.text, /Choose your password/);
    const mismatch = await setPassword(app.baseUrl, path, PASSWORD, `${PASSWORD}!`);
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /not the same/);
    const short = await setPassword(app.baseUrl, path, "short", "short");
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 12/, "the password rule of passwords.ts answers");
    assert.equal(await loginCount(app, invitee.memberId), 0, "refused passwords use nothing up");

    const accepted = await setPassword(app.baseUrl, path);
    assert.equal(accepted.status, 303);
    assert.equal(accepted.headers.get("location"), "/login?done=password_set");
    assert.equal(await loginCount(app, invitee.memberId), 1);
    const audit = await auditOf(app, "invitation.accepted", invitee.memberId);
    assert.equal(audit.length, 1, "accepting is audited");
    assert.equal(audit[0]!.actor_id, `member:${invitee.memberId}`, "as the member themselves");
    const member = new Client(app.baseUrl);
    assert.equal((await member.login(invitee.email, PASSWORD)).status, 303, "the member signs in");
    assert.equal((await member.get("/api/v1/me")).status, 200);

    const again = await new Client(app.baseUrl).get(path);
    assert.equal(again.status, 404, "a used link no longer works");
    assert.match(again.text, /no longer works/);
    assert.match(again.text, /Ask the club's membership administrator for a new invitation/);
    assert.equal((await setPassword(app.baseUrl, path, "another long passphrase")).status, 404);
    const listAfter = await admin.get(`/admin/members?search=${encodeURIComponent(invitee.email)}`);
    assert.match(listAfter.text, /<td>has a login<\/td>/);
    const reinvite = await adminPost(admin, `/admin/members/${invitee.memberId}/invite`, invitee.memberId);
    assert.equal(reinvite.status, 409, "a member with a login is not invited again");
    assert.match(reinvite.text, /already has a login/);
  });

  test("a resend kills the old link, a revoke kills the current one, and used, expired, revoked and made-up links all get the same page", async () => {
    const app = t.get();
    const invitee = await memberWithoutLogin(app);
    const invite = async () =>
      shownLinks(
        (await adminPost(admin, `/admin/members/${invitee.memberId}/invite`, invitee.memberId)).text,
      )[0]!;
    const first = await invite();
    const second = await invite();
    assert.notEqual(first, second);
    const dead = await new Client(app.baseUrl).get(first);
    assert.equal(dead.status, 404, "the resent invitation replaced the first link");
    assert.equal((await new Client(app.baseUrl).get(second)).status, 200);
    assert.equal((await auditOf(app, "invitation.resent", invitee.memberId)).length, 1);

    const page = await admin.get(`/admin/members/${invitee.memberId}`);
    const formToken = page.text.match(/invite\/revoke"[\s\S]*?name="_form" value="([^"]+)"/)?.[1];
    assert.ok(formToken, "the member page has a revoke form");
    const revoked = await admin.postForm(
      `/admin/members/${invitee.memberId}/invite/revoke`,
      { _form: formToken },
      `/admin/members/${invitee.memberId}`,
    );
    assert.equal(revoked.status, 303);
    assert.equal((await new Client(app.baseUrl).get(second)).status, 404, "a revoked link no longer works");
    assert.equal((await auditOf(app, "invitation.revoked", invitee.memberId)).length, 1);

    const third = await invite();
    await expireLinks(app, invitee.memberId);
    const expired = await new Client(app.baseUrl).get(third);
    assert.equal(expired.status, 404, "an expired link no longer works");
    assert.equal((await setPassword(app.baseUrl, third)).status, 404);
    assert.equal(await loginCount(app, invitee.memberId), 0, "an expired link makes no login");
    const madeUp = await new Client(app.baseUrl).get(`/invitation/${randomBytes(32).toString("base64url")}`);
    const mistyped = await new Client(app.baseUrl).get("/invitation/nope");
    for (const other of [dead, madeUp, mistyped])
      assert.equal(mainOf(other.text), mainOf(expired.text), "one page for every link that does not work");
    assert.equal(madeUp.status, 404);
  });

  test("two uses of one link at once make one login: the link is used up in one statement", async () => {
    const app = t.get();
    const invitee = await memberWithoutLogin(app);
    const [path] = shownLinks(
      (await adminPost(admin, `/admin/members/${invitee.memberId}/invite`, invitee.memberId)).text,
    );
    const answers = await Promise.all([
      setPassword(app.baseUrl, path!, "first long passphrase"),
      setPassword(app.baseUrl, path!, "second long passphrase"),
    ]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [303, 404]);
    assert.equal(await loginCount(app, invitee.memberId), 1);
    assert.equal((await auditOf(app, "invitation.accepted", invitee.memberId)).length, 1);
  });

  test("inviting a filtered list reaches those without a login or an open invitation, each with their own link", async () => {
    const app = t.get();
    const tag = `Bulk${Date.now()}`;
    const a = await memberWithoutLogin(app, tag);
    const b = await memberWithoutLogin(app, tag);
    await createMember(app.runtime, [], tag); // already has a login
    const listed = await admin.get(`/admin/members?search=${tag}`);
    assert.match(listed.text, /Invite everyone listed without a login/);
    const sent = await admin.postForm(
      "/admin/members/invite",
      { search: tag },
      `/admin/members?search=${tag}`,
    );
    assert.equal(sent.status, 200, sent.text);
    const links = shownLinks(sent.text);
    assert.equal(links.length, 2, "two invitations, shown once");
    assert.notEqual(links[0], links[1]);
    assert.match(sent.text, /1 already have a login/);
    const stored = await app.runtime.database.db
      .selectFrom("account_links")
      .select(["member_id", "token_hash"])
      .where("member_id", "in", [a.memberId, b.memberId])
      .execute();
    assert.deepEqual(
      stored.map((s) => s.token_hash).sort(),
      links.map((l) => sha256(tokenOf(l))).sort(),
      "each member's link is stored by its hash",
    );
    const entry = await auditOf(app, "invitations.sent");
    assert.deepEqual(
      ((entry.at(-1)!.after as { invited: string[] }).invited ?? []).sort(),
      [a.memberId, b.memberId].sort(),
    );
    const twice = await admin.postForm(
      "/admin/members/invite",
      { search: tag },
      `/admin/members?search=${tag}`,
    );
    assert.equal(shownLinks(twice.text).length, 0, "a second run leaves open invitations alone");
    assert.match(twice.text, /2 already have an open invitation/);
    assert.equal(
      (await new Client(app.baseUrl).get(links[0]!)).status,
      200,
      "and the first links still work",
    );
  });

  test("`clubos members invite` prints the link once when no mail server is set, and the link works", async () => {
    const app = t.get();
    const invitee = await memberWithoutLogin(app);
    const run = await clubos(app, "members", "invite", "--email", invitee.email, "--actor", "Sam");
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Not sent: no mail server is configured/);
    const path = run.output.match(/http:\/\/club\.test(\/invitation\/[A-Za-z0-9_-]+)/)?.[1];
    assert.ok(path, run.output);
    assert.equal((await auditOf(app, "invitation.sent", invitee.memberId))[0]?.actor_id, "operator:Sam");
    assert.equal((await setPassword(app.baseUrl, path)).status, 303);
    const byId = await clubos(app, "members", "invite", "--id", invitee.memberId, "--actor", "Sam");
    assert.notEqual(byId.code, 0, "a member with a login is not invited");
    assert.match(byId.output, /already has a login/);
    const unknown = await clubos(app, "members", "invite", "--email", "nobody@example.org", "--actor", "Sam");
    assert.equal(unknown.code, 1);
    assert.match(unknown.output, /No member has the email/);
  });

  test("nobody is shown a link for a member who holds more permissions than they do", async () => {
    const app = t.get();
    const chief = await createMember(app.runtime, ["full_admin"]);
    const res = await adminPost(admin, `/admin/members/${chief.memberId}/password-reset`, chief.memberId);
    assert.equal(res.status, 403);
    assert.match(res.text, /holds permissions you do not hold/);
    assert.doesNotMatch(res.text, /secret-link/);
    const links = await app.runtime.database.db
      .selectFrom("account_links")
      .select("id")
      .where("member_id", "=", chief.memberId)
      .execute();
    assert.equal(links.length, 0, "no link was made");
  });

  test("[INV-3] a member has one open invitation: the index refuses a second, and without it the scan reports two", async () => {
    const app = t.get();
    const invitee = await memberWithoutLogin(app);
    const db = app.runtime.database.db;
    const insert = (trx: typeof db, hash: string) =>
      sql`INSERT INTO account_links (purpose, member_id, token_hash, expires_at, created_by)
          VALUES ('invitation', ${invitee.memberId}, ${hash}, now() + interval '1 day', 'test')`.execute(trx);
    await insert(db, sha256("one"));
    await assert.rejects(insert(db, sha256("two")), /account_links_one_open|duplicate|unique/);
    const check = accountLinkInvariantChecks.find((c) => c.id === "identity.one-open-link")!;
    assert.deepEqual((await check.sql.execute(db)).rows, [], "with the index, nothing to report");
    const seen = await db
      .transaction()
      .execute(async (trx) => {
        await sql`DROP INDEX account_links_one_open`.execute(trx);
        await insert(trx, sha256("two"));
        const { rows } = await check.sql.execute(trx);
        throw Object.assign(new Error("roll back"), { rows });
      })
      .catch((e: { rows?: unknown[] }) => e.rows);
    assert.equal(
      seen?.length,
      1,
      "without the index a second open invitation gets in, and the scan finds it",
    );
    const accepted = accountLinkInvariantChecks.find(
      (c) => c.id === "identity.accepted-invitation-has-login",
    )!;
    const orphaned = await db
      .transaction()
      .execute(async (trx) => {
        await sql`UPDATE account_links SET used_at = now() WHERE member_id = ${invitee.memberId}`.execute(
          trx,
        );
        const { rows } = await accepted.sql.execute(trx);
        throw Object.assign(new Error("roll back"), { rows });
      })
      .catch((e: { rows?: unknown[] }) => e.rows);
    assert.equal(orphaned?.length, 1, "an invitation used without making a login is reported");
  });
});

forEachEngine("invitations with a mail server", (engine) => {
  let app: TestApp;
  let smtp: TestSmtp;
  let admin: Client;
  before(async () => {
    smtp = await startTestSmtp("accept");
    app = await startTestApp(engine, { ...BASE, SMTP_URL: smtp.url, CLUBOS_MAIL_WORKER: "0" });
    const chair = await createMember(app.runtime, ["membership_chair"]);
    admin = new Client(app.baseUrl);
    assert.equal((await admin.login(chair.email, chair.password)).status, 303);
  });
  after(async () => {
    await app?.close();
    await smtp?.close();
  });

  test("[G11] the invitation is mailed through the outbox, never shown, and its link works from the mail", async () => {
    const invitee = await memberWithoutLogin(app);
    const sent = await adminPost(admin, `/admin/members/${invitee.memberId}/invite`, invitee.memberId);
    assert.equal(sent.status, 200);
    assert.match(sent.text, /Sent by mail/);
    assert.equal(shownLinks(sent.text).length, 0, "with a mail server the admin never sees the link");
    const queued = await app.runtime.database.db
      .selectFrom("outbox")
      .select(["status", "recipient"])
      .where("topic", "=", "account.invitation")
      .where("recipient", "=", invitee.email)
      .execute();
    assert.equal(queued.length, 1, "one message, written with the invitation");
    await app.runtime.mail.makeWorker(app.runtime.database.db).drain();
    const mail = smtp.received.find((r) => r.to.includes(invitee.email));
    assert.ok(mail, "the SMTP server received the invitation");
    const text = mail.raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
    const path = text.match(/http:\/\/club\.test(\/invitation\/[A-Za-z0-9_-]+)/)?.[1];
    assert.ok(path, "the mail carries the link");
    assert.equal((await setPassword(app.baseUrl, path)).status, 303);
    assert.equal((await new Client(app.baseUrl).login(invitee.email, PASSWORD)).status, 303);
  });

  test("`clubos members invite` says the invitation was mailed, and prints no link", async () => {
    const invitee = await memberWithoutLogin(app);
    const run = await clubos(app, "members", "invite", "--email", invitee.email, "--actor", "Sam");
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Invitation sent by mail to/);
    assert.doesNotMatch(run.output, /\/invitation\//);
  });

  test("an admin's password reset is mailed, not shown", async () => {
    const member = await createMember(app.runtime, []);
    const sent = await adminPost(admin, `/admin/members/${member.memberId}/password-reset`, member.memberId);
    assert.equal(sent.status, 200, sent.text);
    assert.equal(shownLinks(sent.text).length, 0);
    await app.runtime.mail.makeWorker(app.runtime.database.db).drain();
    const mail = smtp.received.find((r) => r.to.includes(member.email));
    assert.ok(mail, "the reset reached the SMTP server");
    assert.match(mail.raw.replace(/=\r?\n/g, ""), /\/password-reset\//);
  });
});
