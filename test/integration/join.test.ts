import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { FORM_ADDRESS_RULE, FORM_EMAIL_RULE } from "../../src/domains/identity/form-throttle.ts";
import { purgeUnconfirmedApplications } from "../../src/domains/identity/join.actions.ts";
import { createMember, startTestApp, suiteApp, type TestApp } from "../helpers/app.ts";
import { forEachEngine, postgresOnly } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { sha256 } from "../helpers/identity.ts";
import { auditOf, mainOf, rowsHolding, shownLinks, tokenOf } from "../helpers/links.ts";
import { startTestSmtp, type TestSmtp } from "../helpers/smtp.ts";

/* The online join form: off until an admin opens it; an application confirms its address through a
 * single-use link, waits in the admin queue, and is approved (member and invitation) or rejected (the
 * applicant is told). Bots meet a rate limit per address and per email and a honeypot; a member's
 * address gets the same answer as a new one, and the member is told. The suites trust one proxy hop, so
 * X-Forwarded-For says which address each request comes from. */

const BASE = { CLUBOS_PUBLIC_URL: "http://club.test", CLUBOS_TRUST_PROXY: "1" };

let serial = 0;
/** A fresh address in TEST-NET-2, one per call. */
const newAddress = () => {
  serial++;
  return `198.51.${Math.floor(serial / 250) % 250}.${(serial % 250) + 1}`;
};
const newEmail = (what = "applicant") => `${what}-${++serial}-${Date.now()}@example.org`;

/** A visitor's application through the public form, from its own address unless one is given. */
function apply(
  app: TestApp,
  fields: Partial<Record<"name" | "email" | "phone" | "tier" | "message" | "website", string>>,
  ip = newAddress(),
) {
  return new Client(app.baseUrl).request("POST", "/join", {
    form: { name: "Ada Applicant", tier: "standard", phone: "", message: "", ...fields },
    headers: { "x-forwarded-for": ip },
  });
}

/** The confirmation link path of the newest confirmation message to this address. */
async function confirmPath(app: TestApp, email: string): Promise<string | undefined> {
  const row = await app.runtime.database.db
    .selectFrom("outbox")
    .select("body")
    .where("topic", "=", "join.confirm_email")
    .where("recipient", "=", email)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
  return row?.body?.match(/http:\/\/club\.test(\/join\/confirm\/[A-Za-z0-9_-]+)/)?.[1];
}

const confirm = (app: TestApp, path: string) => new Client(app.baseUrl).request("POST", path, { form: {} });

/** The applications of an address. */
const applicationsOf = (app: TestApp, email: string) =>
  app.runtime.database.db.selectFrom("join_applications").selectAll().where("email", "=", email).execute();

/** Applies and confirms: the application now waits in the queue. */
async function waitingApplication(app: TestApp, fields: { email: string; tier?: string; phone?: string }) {
  assert.equal((await apply(app, fields)).status, 200);
  const path = await confirmPath(app, fields.email);
  assert.ok(path, "a confirmation link was queued");
  assert.equal((await confirm(app, path)).status, 200);
  const [row] = await applicationsOf(app, fields.email);
  assert.equal(row?.status, "confirmed");
  return row!;
}

/** A signed-in membership chair (members:write). */
async function chair(app: TestApp): Promise<Client> {
  const person = await createMember(app.runtime, ["membership_chair"]);
  const client = new Client(app.baseUrl);
  assert.equal((await client.login(person.email, person.password)).status, 303);
  return client;
}

const openJoinForm = (admin: Client, open: "on" | "off") =>
  admin.postForm("/admin/settings/join-form", { open }, "/admin/settings");

/** Row counts of what an application could write. */
async function footprint(app: TestApp) {
  const { rows } = await sql<{ apps: number; outbox: number; audit: number; throttles: number }>`
    SELECT (SELECT count(*) FROM join_applications)::integer AS apps,
           (SELECT count(*) FROM outbox)::integer AS outbox,
           (SELECT count(*) FROM audit_log)::integer AS audit,
           (SELECT count(*) FROM login_throttles)::integer AS throttles`.execute(app.runtime.database.db);
  return rows[0]!;
}

forEachEngine("join form", (engine) => {
  const t = suiteApp(engine, BASE);
  let admin: Client;
  before(async () => {
    admin = await chair(t.get());
  });

  test("closed (the default), /join is “not found” exactly like a page that does not exist; an admin opens it, audited", async () => {
    const app = t.get();
    const visitor = new Client(app.baseUrl);
    const html = { accept: "text/html" };
    const missing = await visitor.get("/no-such-page", html);
    const form = await visitor.get("/join", html);
    const post = await apply(app, { email: newEmail() });
    const missingPost = await visitor.request("POST", "/no-such-page", { form: {}, headers: html });
    for (const [page, like] of [
      [form, missing],
      [post, missingPost],
    ] as const) {
      assert.equal(page.status, 404);
      assert.equal(mainOf(page.text), mainOf(like.text));
    }
    assert.equal((await footprint(app)).apps, 0, "nothing written while closed");
    const opened = await openJoinForm(admin, "on");
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get("location"), "/admin/settings?done=join_form_opened");
    const entry = (await auditOf(app, "settings.join_form_opened")).at(-1);
    assert.ok(entry, "opening the form is audited");
    assert.equal((entry.after as { open: boolean }).open, true);
    const page = await visitor.get("/join");
    assert.equal(page.status, 200);
    assert.match(page.text, /Apply to join/);
    assert.match(page.text, /<option value="standard"/, "the tiers come from membership_tiers");
    assert.equal((await new Client(app.baseUrl).get("/admin/settings")).status, 401, "settings need a login");
  });

  test("apply, confirm through the single-use link, then the application waits in the admin queue", async () => {
    const app = t.get();
    const email = newEmail();
    const answer = await apply(app, { email, phone: "+44 20 7946 0000", message: "I row on Sundays." });
    assert.equal(answer.status, 200);
    assert.match(answer.text, /Thank you for applying/);
    const [row] = await applicationsOf(app, email);
    assert.equal(row?.status, "unconfirmed");
    const queueBefore = await admin.get("/admin/join-applications");
    assert.doesNotMatch(
      queueBefore.text,
      new RegExp(email),
      "an unconfirmed application is not in the queue",
    );
    const path = (await confirmPath(app, email))!;
    assert.ok(path, "the confirmation link goes through the outbox, built from the public URL");
    assert.equal(row.confirm_token_hash, sha256(tokenOf(path)), "stored by its hash");
    assert.deepEqual(await rowsHolding(app, tokenOf(path)).then((r) => r.filter((x) => x !== "outbox")), []);
    const page = await new Client(app.baseUrl).get(path);
    assert.equal(page.status, 200);
    assert.match(page.text, /Confirm my application/);
    assert.equal(
      (await applicationsOf(app, email))[0]?.status,
      "unconfirmed",
      "opening the link confirms nothing",
    );
    const done = await confirm(app, path);
    assert.equal(done.status, 200);
    assert.match(done.text, /Your application is confirmed/);
    const again = await confirm(app, path);
    assert.equal(again.status, 404, "the link works once");
    const madeUp = await new Client(app.baseUrl).get(`/join/confirm/${"x".repeat(43)}`);
    assert.equal(madeUp.status, 404);
    assert.equal(mainOf(again.text), mainOf(madeUp.text), "a used link looks like a made-up one");
    const queue = await admin.get("/admin/join-applications");
    assert.equal(queue.status, 200);
    assert.match(queue.text, new RegExp(email));
    assert.match(queue.text, /I row on Sundays\./);
    assert.equal((await auditOf(app, "join.applied", row.id)).length, 1);
    assert.equal((await auditOf(app, "join.confirmed", row.id)).length, 1);
  });

  test("an unconfirmed application expires: its link stops working and the job deletes it", async () => {
    const app = t.get();
    const email = newEmail();
    await apply(app, { email });
    const path = (await confirmPath(app, email))!;
    await sql`UPDATE join_applications SET confirm_expires_at = now() - interval '1 minute'
      WHERE email = ${email}`.execute(app.runtime.database.db);
    assert.equal((await new Client(app.baseUrl).get(path)).status, 404);
    assert.equal((await confirm(app, path)).status, 404);
    const env = app.runtime.actionEnv(systemActor("test"));
    const { deleted } = await runAction(env, purgeUnconfirmedApplications, undefined);
    assert.ok(deleted >= 1);
    assert.deepEqual(await applicationsOf(app, email), [], "nothing of what was typed is kept");
  });

  test("approve: the member is made pending or active as the tier says, with tier and phone, and is invited (shown once without a mail server)", async () => {
    const app = t.get();
    const db = app.runtime.database.db;
    const rule = await admin.postForm(
      "/admin/tiers/family/join-status",
      { status: "active" },
      "/admin/settings",
    );
    assert.equal(rule.status, 303, "an admin sets the tier's rule on the settings page");
    const ruleEntry = (await auditOf(app, "tier.join_status_changed", "family")).at(-1)!;
    assert.deepEqual(ruleEntry.after, { joinStatus: "active" });
    const unknownTier = await admin.postForm(
      "/admin/tiers/no_such_tier/join-status",
      { status: "active" },
      "/admin/settings",
    );
    assert.equal(unknownTier.status, 404);
    const pendingEmail = newEmail();
    const activeEmail = newEmail();
    const pending = await waitingApplication(app, { email: pendingEmail, phone: "0123" });
    const active = await waitingApplication(app, { email: activeEmail, tier: "family" });
    for (const [application, status, tier] of [
      [pending, "pending", "standard"],
      [active, "active", "family"],
    ] as const) {
      const approved = await admin.postForm(
        `/admin/join-applications/${application.id}/approve`,
        {},
        "/admin/join-applications",
      );
      assert.equal(approved.status, 200, approved.text);
      const links = shownLinks(approved.text);
      assert.equal(links.length, 1, "the invitation link is shown once");
      assert.match(links[0]!, /^\/invitation\//);
      const member = await db
        .selectFrom("members")
        .selectAll()
        .where("email", "=", application.email)
        .executeTakeFirstOrThrow();
      assert.equal(member.status, status);
      assert.equal(member.tier_key, tier);
      const link = await db
        .selectFrom("account_links")
        .select("token_hash")
        .where("member_id", "=", member.id)
        .where("purpose", "=", "invitation")
        .executeTakeFirstOrThrow();
      assert.equal(link.token_hash, sha256(tokenOf(links[0]!)));
      const entry = (await auditOf(app, "join.approved", application.id)).at(-1)!;
      assert.equal((entry.after as { memberId: string }).memberId, member.id);
      assert.equal((await applicationsOf(app, application.email))[0]?.status, "approved");
    }
    const member = await db
      .selectFrom("members")
      .select("phone")
      .where("email", "=", pendingEmail)
      .executeTakeFirstOrThrow();
    assert.equal(member.phone, "0123");
    const twice = await admin.postForm(
      `/admin/join-applications/${pending.id}/approve`,
      {},
      "/admin/join-applications",
    );
    assert.equal(twice.status, 409, "a decided application cannot be approved again");
    const visitor = await new Client(app.baseUrl).request(
      "POST",
      `/admin/join-applications/${active.id}/approve`,
      {
        form: {},
      },
    );
    assert.ok([401, 403].includes(visitor.status), "only admins approve");
  });

  test("reject: a reason is required, and the applicant is told by mail with it", async () => {
    const app = t.get();
    const email = newEmail();
    const application = await waitingApplication(app, { email });
    const path = `/admin/join-applications/${application.id}/reject`;
    const blank = await admin.postForm(path, { reason: "  " }, "/admin/join-applications");
    assert.equal(blank.status, 400);
    const rejected = await admin.postForm(
      path,
      { reason: "We are full this season." },
      "/admin/join-applications",
    );
    assert.equal(rejected.status, 303);
    const [row] = await applicationsOf(app, email);
    assert.equal(row?.status, "rejected");
    assert.equal(row?.reason, "We are full this season.");
    const mail = await app.runtime.database.db
      .selectFrom("outbox")
      .select("body")
      .where("topic", "=", "join.rejected")
      .where("recipient", "=", email)
      .executeTakeFirstOrThrow();
    assert.match(mail.body ?? "", /We are full this season\./);
    assert.equal((await auditOf(app, "join.rejected", application.id)).length, 1);
    const queue = await admin.get("/admin/join-applications");
    assert.doesNotMatch(queue.text, new RegExp(email), "a decided application leaves the queue");
  });

  test("a filled honeypot gets the same “thank you” and writes nothing at all", async () => {
    const app = t.get();
    const real = await apply(app, { email: newEmail() });
    const before = await footprint(app);
    const bot = await apply(app, { email: newEmail("bot"), website: "http://spam.example" });
    assert.equal(bot.status, real.status);
    assert.equal(mainOf(bot.text), mainOf(real.text), "word for word the same page");
    assert.deepEqual(
      await footprint(app),
      before,
      "no application, no mail, no audit entry, no throttle row",
    );
  });

  test("an email that belongs to a member gets the same page as a new one; the member is told by mail instead", async () => {
    const app = t.get();
    const member = await createMember(app.runtime, []);
    const fresh = await apply(app, { email: newEmail() });
    const known = await apply(app, { email: member.email.toUpperCase() });
    assert.equal(known.status, fresh.status);
    assert.equal(mainOf(known.text), mainOf(fresh.text));
    const applications = await app.runtime.database.db
      .selectFrom("join_applications")
      .select("id")
      .where(sql`lower(email)`, "=", member.email.toLowerCase())
      .execute();
    assert.equal(applications.length, 0, "no application for a member's address");
    const told = await app.runtime.database.db
      .selectFrom("outbox")
      .select(["body", "topic"])
      .where("recipient", "=", member.email)
      .where("topic", "=", "join.already_member")
      .executeTakeFirstOrThrow();
    assert.match(told.body ?? "", /sign in, or reset your password/);
    assert.match(told.body ?? "", /http:\/\/club\.test\/password-reset/);
  });

  test("rate limit: per email across addresses, and per address across emails; the forgot-password form too", async () => {
    const app = t.get();
    const email = newEmail();
    for (let i = 0; i < FORM_EMAIL_RULE.freeFailures; i++)
      assert.equal((await apply(app, { email })).status, 200);
    const slowed = await apply(app, { email });
    assert.equal(slowed.status, 429);
    assert.ok(Number(slowed.headers.get("retry-after")) > 0);
    assert.match(slowed.text, /Too many requests/);
    const ip = newAddress();
    for (let i = 0; i < FORM_ADDRESS_RULE.freeFailures; i++)
      assert.equal((await apply(app, { email: newEmail() }, ip)).status, 200);
    assert.equal((await apply(app, { email: newEmail() }, ip)).status, 429);
    const forgot = (to: string, from = newAddress()) =>
      new Client(app.baseUrl).request("POST", "/password-reset", {
        form: { email: to },
        headers: { "x-forwarded-for": from },
      });
    const target = newEmail("reset");
    for (let i = 0; i < FORM_EMAIL_RULE.freeFailures; i++) assert.equal((await forgot(target)).status, 200);
    assert.equal((await forgot(target)).status, 429, "the forgot-password form is limited per email");
    const from = newAddress();
    for (let i = 0; i < FORM_ADDRESS_RULE.freeFailures; i++)
      assert.equal((await forgot(newEmail("reset"), from)).status, 200);
    assert.equal((await forgot(newEmail("reset"), from)).status, 429, "and per address");
  });

  test("an admin closes the form again: /join is not found", async () => {
    const app = t.get();
    assert.equal((await openJoinForm(admin, "off")).status, 303);
    assert.equal((await new Client(app.baseUrl).get("/join")).status, 404);
    assert.ok((await auditOf(app, "settings.join_form_closed")).length >= 1);
    assert.equal((await openJoinForm(admin, "on")).status, 303);
  });
});

postgresOnly("join rate limit under real concurrency", () => {
  const t = suiteApp("postgres", BASE);

  test("40 applications at once from one address: exactly the limit get through, the rest are told to wait", async () => {
    const app = t.get();
    const admin = await chair(app);
    assert.equal((await openJoinForm(admin, "on")).status, 303);
    const ip = newAddress();
    const emails = Array.from({ length: 40 }, () => newEmail("burst"));
    const answers = await Promise.all(emails.map((email) => apply(app, { email }, ip)));
    const passed = answers.filter((a) => a.status === 200).length;
    assert.equal(passed, FORM_ADDRESS_RULE.freeFailures);
    assert.equal(answers.filter((a) => a.status === 429).length, 40 - FORM_ADDRESS_RULE.freeFailures);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM join_applications
      WHERE email LIKE 'burst-%'`.execute(app.runtime.database.db);
    assert.equal(rows[0]!.n, FORM_ADDRESS_RULE.freeFailures, "no more applications written than the limit");
  });
});

forEachEngine("join form with a mail server", (engine) => {
  let app: TestApp;
  let smtp: TestSmtp;
  let admin: Client;
  before(async () => {
    smtp = await startTestSmtp("accept");
    app = await startTestApp(engine, { ...BASE, SMTP_URL: smtp.url, CLUBOS_MAIL_WORKER: "0" });
    admin = await chair(app);
    assert.equal((await openJoinForm(admin, "on")).status, 303);
  });
  after(async () => {
    await app?.close();
    await smtp?.close();
  });

  const drain = () => app.runtime.mail.makeWorker(app.runtime.database.db).drain();
  const mailTo = (email: string, subject: RegExp) =>
    smtp.received.find((r) => r.to.includes(email) && subject.test(r.subject ?? ""));
  const decoded = (raw: string) => raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=");

  test("[G11] the confirmation link arrives at the SMTP server and works; approval mails the invitation; rejection mails the applicant", async () => {
    const email = newEmail();
    assert.equal((await apply(app, { email })).status, 200);
    await drain();
    const confirmation = mailTo(email, /Confirm your application/);
    assert.ok(confirmation, "the SMTP server received the confirmation mail");
    const path = decoded(confirmation.raw).match(/http:\/\/club\.test(\/join\/confirm\/[A-Za-z0-9_-]+)/)?.[1];
    assert.ok(path, "the mail carries the link");
    assert.equal((await confirm(app, path)).status, 200);
    const [application] = await applicationsOf(app, email);
    assert.equal(application?.status, "confirmed");
    const approved = await admin.postForm(
      `/admin/join-applications/${application!.id}/approve`,
      {},
      "/admin/join-applications",
    );
    assert.equal(approved.status, 200);
    assert.equal(shownLinks(approved.text).length, 0, "with a mail server the admin never sees the link");
    await drain();
    const invitation = mailTo(email, /invitation/i);
    assert.ok(invitation, "the new member received the invitation");
    assert.match(decoded(invitation.raw), /http:\/\/club\.test\/invitation\//);

    const other = newEmail();
    const second = await waitingApplication(app, { email: other });
    const rejected = await admin.postForm(
      `/admin/join-applications/${second.id}/reject`,
      { reason: "Members must live in the parish." },
      "/admin/join-applications",
    );
    assert.equal(rejected.status, 303);
    await drain();
    const answer = mailTo(other, /Your application/);
    assert.ok(answer, "the applicant received the rejection");
    assert.match(decoded(answer.raw), /Members must live in the parish\./);
  });
});
