import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import { type ActionEnv, defineAction, runAction } from "../../src/core/action.ts";
import { operatorActor, systemActor } from "../../src/core/actor.ts";
import { ClubError } from "../../src/core/errors.ts";
import { retryOutboxMessage } from "../../src/domains/mail/mail.actions.ts";
import { MailService, type MailSettings } from "../../src/domains/mail/mail.service.ts";
import { claimDueMessages, HELD_NOTE } from "../../src/domains/mail/outbox.repository.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { suiteApp, type TestApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { loggedIn } from "../helpers/identity.ts";
import { startTestSmtp, type TestSmtp, testMailSettings } from "../helpers/smtp.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FROM = "Test Club <club@mail.test>";

/** Fast settings for tests; each test overrides what it is about. */
function settings(smtp: TestSmtp | undefined, over: Partial<MailSettings> = {}): MailSettings {
  return testMailSettings(smtp, { from: FROM, timeoutMs: 2_000, leaseMs: 30_000, pollMs: 50, ...over });
}

let serial = 0;

/** An action that writes `n` messages (optional mail when told), as every domain writes mail. */
const writeMail = defineAction({
  name: "test.writeMail",
  access: { capability: "members:write" },
  effect: "write",
  async run(_scope, input: { n: number; to?: string; optional?: boolean; topic?: string }) {
    serial++;
    return {
      result: serial,
      audit: { action: "test.mail_written", subjectType: "test", subjectId: String(serial) },
      outbox: Array.from({ length: input.n }, (_, i) => ({
        topic: input.topic ?? "test.notice",
        recipient: input.to ?? `to${serial}-${i}@example.org`,
        subject: `Test ${serial}.${i}`,
        body: `Body ${serial}.${i}`,
        optional: input.optional,
      })),
    };
  },
});

/** When the current test began (database time): its rows are those written since. */
let since = new Date(0);

const statuses = async (app: TestApp) =>
  (
    await app.runtime.database.db
      .selectFrom("outbox")
      .select(["id", "status", "attempts", "last_error", "message_id", "available_at", "recipient"])
      .where("created_at", ">=", since)
      .orderBy("created_at")
      .orderBy("subject")
      .execute()
  ).map((r) => ({ ...r, available_at: new Date(r.available_at) }));

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachEngine("mail delivery", (engine) => {
  const t = suiteApp(engine);
  let smtp: TestSmtp;
  let env: ActionEnv;

  beforeEach(async () => {
    smtp = await startTestSmtp("accept");
    const app = t.get();
    env = app.runtime.actionEnv(systemActor("test"));
    // Each test starts from an empty outbox (the rows of earlier tests are delivered or dead).
    await sql`UPDATE outbox SET status = 'cancelled' WHERE status IN ('pending', 'held', 'dead')`.execute(
      app.runtime.database.db,
    );
    await app.runtime.database.db.deleteFrom("mail_undeliverable").execute();
    const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(app.runtime.database.db);
    since = new Date(rows[0]!.now);
  });
  afterEach(async () => {
    await smtp.close();
  });

  test("[G11] a message is marked sent only after the server accepted it, with a stable Message-ID", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp));
    const worker = mail.makeWorker(app.runtime.database.db);
    await runAction(env, writeMail, { n: 1 });
    smtp.behaviour = "fail";
    await worker.runOnce();
    let [row] = await statuses(app);
    assert.equal(row!.status, "pending", "a 451 does not mark the message sent");
    assert.equal(row!.attempts, 1);
    assert.match(row!.last_error ?? "", /Try again later/);
    assert.equal(row!.message_id, `<${row!.id}@mail.test>`, "the Message-ID derives from the outbox id");
    smtp.behaviour = "accept";
    await wait(80); // past the (jittered, 30 ms base) backoff
    await worker.drain();
    [row] = await statuses(app);
    assert.equal(row!.status, "sent");
    assert.equal(smtp.received.length, 1);
    assert.equal(smtp.received[0]!.messageId, `<${row!.id}@mail.test>`, "the same Message-ID on the retry");
  });

  test("a subject with CR/LF cannot add a header to the sent message", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp));
    const inject = defineAction({
      name: "test.injectMail",
      access: { capability: "members:write" },
      effect: "write",
      async run() {
        return {
          result: null,
          audit: { action: "test.mail_written", subjectType: "test", subjectId: "inject" },
          outbox: [
            {
              topic: "test.notice",
              recipient: "inject@example.org",
              subject: "Quiz\r\nBcc: evil@example.org",
              body: "Hi",
            },
          ],
        };
      },
    });
    await runAction(env, inject, undefined);
    await mail.makeWorker(app.runtime.database.db).drain();
    assert.equal(smtp.received.length, 1);
    const head = smtp.received[0]!.raw.split(/\r?\n\r?\n/)[0]!;
    assert.doesNotMatch(head, /^Bcc:/im, "no header was added");
    assert.deepEqual(smtp.received[0]!.to, ["inject@example.org"], "nobody else received it");
  });

  test("[G11] a 4xx is retried with jittered backoff and goes out once the server recovers", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp, { retryBaseMs: 400 }));
    const worker = mail.makeWorker(app.runtime.database.db);
    await runAction(env, writeMail, { n: 1 });
    smtp.behaviour = "fail";
    const before = Date.now();
    const first = await worker.runOnce();
    assert.equal(first.retried, 1);
    const [row] = await statuses(app);
    assert.ok(row!.available_at.getTime() > before, "the next attempt waits (backoff)");
    assert.equal((await worker.runOnce()).claimed, 0, "nothing is retried before its time");
    smtp.behaviour = "accept";
    await wait(row!.available_at.getTime() - Date.now() + 50);
    const second = await worker.drain();
    assert.equal(second.sent, 1);
    assert.equal(smtp.received.length, 1, "delivered exactly once");
    assert.equal(smtp.attempts, 2, "one failed attempt, one accepted");
    assert.notEqual(mail.delivery.retryDelayMs(3), mail.delivery.retryDelayMs(3) + 0.5, "delays are numbers");
    const delays = new Set(Array.from({ length: 8 }, () => mail.delivery.retryDelayMs(3)));
    assert.ok(delays.size > 1, "the delays are jittered, so failed messages do not come back together");
  });

  test("[G11] a server that hangs costs one timeout per attempt, then the message waits", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp, { timeoutMs: 300 }));
    const worker = mail.makeWorker(app.runtime.database.db);
    await runAction(env, writeMail, { n: 1 });
    smtp.behaviour = "hang";
    const started = Date.now();
    const pass = await worker.runOnce();
    const ms = Date.now() - started;
    assert.equal(pass.retried, 1);
    assert.ok(ms < 1_500, `the attempt gave up at the timeout (${ms} ms)`);
    const [row] = await statuses(app);
    assert.equal(row!.status, "pending");
    assert.match(row!.last_error ?? "", /no answer from the mail server within 300 ms/);
  });

  test("[G11] after N failures the breaker opens: no more attempts, core actions still commit quickly, mail goes out after recovery", async () => {
    const app = t.get();
    // A timeout long enough that the half-open trial after recovery is not cut off on a busy machine,
    // and the bound that shows core actions never waited for one.
    const timeoutMs = 1_500;
    const mail = new MailService(settings(smtp, { breakerFailures: 3, breakerResetMs: 400, timeoutMs }));
    const worker = mail.makeWorker(app.runtime.database.db);
    worker["options"].concurrency = 1; // one at a time, so the count of attempts is exact
    await runAction(env, writeMail, { n: 6 });
    smtp.behaviour = "hang";
    const pass = await worker.runOnce();
    assert.equal(smtp.attempts, 3, "three attempts hit the server, then the breaker stopped the rest");
    assert.equal(pass.retried, 3);
    assert.equal(pass.deferred, 3, "the others were not attempted");
    assert.equal(mail.breaker(), "open");
    assert.equal((await worker.runOnce()).claimed, 0, "an open breaker claims nothing");

    // The server still hangs; core actions do not wait for it.
    const member = await tokenMember(app.runtime);
    const event = await publishedEvent(app.runtime, { title: "Quiz" });
    const started = Date.now();
    const created = await runAction(env, createMemberRecord, {
      name: "While open",
      email: `open${Date.now()}@example.org`,
    });
    const registered = await apiPost(
      app.baseUrl,
      member.token,
      `/api/v1/events/${event.id}/registrations`,
      {},
    );
    const ms = Date.now() - started;
    assert.ok(created.id);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    assert.ok(ms < timeoutMs, `a member created and a registration made in ${ms} ms while mail is down`);
    const confirmation = await app.runtime.database.db
      .selectFrom("outbox")
      .select("status")
      .where("topic", "=", "registration.confirmed")
      .where("recipient", "=", member.email)
      .executeTakeFirstOrThrow();
    assert.equal(confirmation.status, "pending", "the confirmation waits in the outbox");

    // Recovery: the breaker half-opens, one trial succeeds, and everything goes out once.
    smtp.behaviour = "accept";
    await wait(450);
    await sql`UPDATE outbox SET available_at = now() WHERE status = 'pending'`.execute(
      app.runtime.database.db,
    );
    await worker.drain();
    assert.equal(mail.breaker(), "closed");
    const rows = await statuses(app);
    assert.ok(
      rows.every((r) => r.status === "sent"),
      JSON.stringify(rows.map((r) => r.status)),
    );
    assert.equal(smtp.received.length, 7, "six test messages and the confirmation, each once");
    assert.deepEqual(smtp.duplicates(), []);
  });

  test("[G11] dead letter after the last retry, shown to admins with its error; an audited retry sends it", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp, { maxAttempts: 2, retryBaseMs: 20 }));
    const worker = mail.makeWorker(app.runtime.database.db);
    await runAction(env, writeMail, { n: 1 });
    smtp.behaviour = "fail";
    await worker.runOnce();
    await wait(200);
    await worker.drain();
    let [row] = await statuses(app);
    assert.equal(row!.status, "dead");
    assert.equal(row!.attempts, 2);

    const admin = await loggedIn(t, ["full_admin"]);
    const page = await admin.client.get(`/admin/outbox/${row!.id}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /dead letter/);
    assert.match(page.text, /Try again later/);
    assert.match(page.text, /Retry this message/);
    const list = await admin.client.get("/admin/outbox?status=dead");
    assert.match(list.text, /1 dead letter/);

    smtp.behaviour = "accept";
    const retried = await admin.client.postForm(
      `/admin/outbox/${row!.id}/retry`,
      {},
      `/admin/outbox/${row!.id}`,
    );
    assert.equal(retried.status, 303, retried.text);
    const audit = await app.runtime.database.db
      .selectFrom("audit_log")
      .select(["actor_id", "after"])
      .where("action", "=", "mail.retried")
      .where("subject_id", "=", row!.id)
      .executeTakeFirstOrThrow();
    assert.equal(audit.actor_id, `member:${admin.member.memberId}`, "the retry names who did it");
    await worker.drain();
    [row] = await statuses(app);
    assert.equal(row!.status, "sent");
    assert.equal(smtp.received.length, 1);

    await assert.rejects(
      runAction(app.runtime.actionEnv(operatorActor("ops")), retryOutboxMessage, { id: row!.id }),
      (e: unknown) => e instanceof ClubError && e.code === "not_retryable",
      "a sent message cannot be retried",
    );
  });

  test("[G11] a permanent rejection (5xx) dead-letters at once and marks the address undeliverable", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp));
    const worker = mail.makeWorker(app.runtime.database.db);
    const to = `gone${Date.now()}@example.org`;
    await runAction(env, writeMail, { n: 1, to });
    smtp.behaviour = "reject";
    await worker.drain();
    let rows = await statuses(app);
    assert.equal(rows[0]!.status, "dead", "no retries after a 550");
    assert.equal(smtp.attempts, 1);
    const mark = await app.runtime.database.db
      .selectFrom("mail_undeliverable")
      .selectAll()
      .where("address", "=", to)
      .executeTakeFirst();
    assert.ok(mark, "the address is marked");
    assert.match(mark.reason, /Mailbox does not exist/);

    await runAction(env, writeMail, { n: 1, to: to.toUpperCase() });
    smtp.behaviour = "accept";
    await worker.drain();
    rows = await statuses(app);
    assert.equal(rows[1]!.status, "dead");
    assert.match(rows[1]!.last_error ?? "", /marked undeliverable/);
    assert.equal(smtp.attempts, 1, "no more mail is sent to a marked address");

    const admin = await loggedIn(t, ["full_admin"]);
    const page = await admin.client.get(`/admin/outbox/${rows[1]!.id}`);
    assert.match(page.text, /undeliverable: the mail server refused it for good/);

    // The mark shows on the member's admin page.
    const member = await runAction(env, createMemberRecord, { name: "Gone Member", email: to });
    const memberPage = await admin.client.get(`/admin/members/${member.id}`);
    assert.equal(memberPage.status, 200);
    assert.match(memberPage.text, /Email undeliverable: the mail server refused/);
  });

  test("[G11] clubos mail status lists dead letters; clubos mail retry puts one back, audited as the operator", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp, { maxAttempts: 1 }));
    await runAction(env, writeMail, { n: 1 });
    smtp.behaviour = "fail";
    await mail.makeWorker(app.runtime.database.db).drain();
    const [row] = await statuses(app);
    assert.equal(row!.status, "dead");
    const out: string[] = [];
    const err: string[] = [];
    const cli: CliEnv = {
      io: { out: (s) => out.push(s), err: (s) => err.push(s), progress: () => {} },
      config: app.config,
      withRuntime: (fn) => fn(app.runtime),
    };
    assert.equal(await runCli(["mail", "status"], cli), 0, err.join("\n"));
    assert.ok(
      out.some((l) => l.includes(row!.id)),
      out.join("\n"),
    );
    assert.ok(out.some((l) => /dead letters: 1/.test(l)));
    assert.ok(out.some((l) => /last error .*Try again later/.test(l)));
    assert.equal(await runCli(["mail", "retry", row!.id], cli), 1, "--actor is required");
    assert.equal(await runCli(["mail", "retry", row!.id, "--actor", "alice"], cli), 0, err.join("\n"));
    const audit = await app.runtime.database.db
      .selectFrom("audit_log")
      .select("actor_id")
      .where("action", "=", "mail.retried")
      .where("subject_id", "=", row!.id)
      .executeTakeFirstOrThrow();
    assert.equal(audit.actor_id, "operator:alice");
    smtp.behaviour = "accept";
    await mail.makeWorker(app.runtime.database.db).drain();
    assert.equal((await statuses(app))[0]!.status, "sent");
  });

  test("[G11] an expired lease is taken over by another worker, with the same Message-ID", async () => {
    const app = t.get();
    await runAction(env, writeMail, { n: 1 });
    const db = app.runtime.database.db;
    // Worker A claims and crashes before sending.
    const claimed = await claimDueMessages(db, {
      worker: "worker:crashed",
      limit: 10,
      leaseMs: 300,
      domain: "mail.test",
    });
    assert.equal(claimed.length, 1);
    const b = new MailService(settings(smtp)).makeWorker(db, { id: "worker:b" });
    assert.equal((await b.runOnce()).claimed, 0, "a live lease keeps the message from others");
    await wait(350);
    const pass = await b.drain();
    assert.equal(pass.sent, 1, "after the lease ends another worker delivers it");
    assert.equal(smtp.received[0]!.messageId, claimed[0]!.message_id);
  });

  test("[G11] the running worker (as clubos serve starts it) delivers new messages and pauses outside normal mode", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp));
    let paused = true;
    mail.startWorker(app.runtime.database.db, { paused: () => paused });
    try {
      assert.equal(mail.workerRunning(), true);
      await runAction(env, writeMail, { n: 1 });
      await wait(200);
      assert.equal(
        smtp.received.length,
        0,
        "nothing goes out while delivery is paused (e.g. read-only mode)",
      );
      paused = false;
      for (let i = 0; i < 50 && smtp.received.length === 0; i++) await wait(50);
      assert.equal(smtp.received.length, 1, "the worker picked the message up by itself");
    } finally {
      await mail.stopWorker();
    }
    assert.equal(mail.workerRunning(), false);
  });

  test("[G11] a worker stopped and started again still sends: stopping closes the pooled connections, not the transport", async () => {
    const app = t.get();
    const mail = new MailService(settings(smtp));
    const db = app.runtime.database.db;
    for (const round of [1, 2]) {
      mail.startWorker(db);
      try {
        await runAction(env, writeMail, { n: 1 });
        for (let i = 0; i < 100 && smtp.received.length < round; i++) await wait(50);
        assert.equal(smtp.received.length, round, `round ${round}: the message went out`);
      } finally {
        await mail.stopWorker();
      }
    }
    const rows = await statuses(app);
    assert.deepEqual(
      rows.map((r) => [r.status, r.attempts]),
      [
        ["sent", 1],
        ["sent", 1],
      ],
    );
  });

  test("[G11] without SMTP_URL messages go to the local mailbox, labelled as not sent", async () => {
    const app = t.get();
    const mail = new MailService(settings(undefined));
    assert.equal(mail.breaker(), "no server");
    await runAction(env, writeMail, { n: 2 });
    const pass = await mail.makeWorker(app.runtime.database.db).drain();
    assert.equal(pass.held, 2);
    const rows = await statuses(app);
    assert.deepEqual(
      rows.map((r) => r.status),
      ["held", "held"],
    );
    assert.equal(smtp.attempts, 0);
    const admin = await loggedIn(t, ["full_admin"]);
    const list = await admin.client.get("/admin/outbox?status=held");
    assert.match(list.text, new RegExp(HELD_NOTE));
    assert.match(list.text, /no mail server configured \(SMTP_URL\)/, "the page says why");
    const home = await admin.client.get("/admin");
    assert.match(home.text, /no mail server configured/);
  });

  test("[G11] past the outbox bound optional mail is refused with a clear message; core writes still commit", async () => {
    const app = t.get();
    const bounded: ActionEnv = { ...env, outboxMaxDepth: 3 };
    await runAction(bounded, writeMail, { n: 3 });
    await assert.rejects(
      runAction(bounded, writeMail, { n: 1, optional: true, topic: "test.announcement" }),
      (e: unknown) =>
        e instanceof ClubError &&
        e.code === "outbox_full" &&
        /3 messages are already waiting/.test(e.message),
    );
    const optional = await app.runtime.database.db
      .selectFrom("outbox")
      .select("id")
      .where("topic", "=", "test.announcement")
      .execute();
    assert.equal(optional.length, 0, "nothing of the refused action was written");
    // Core mail still commits past the bound.
    await runAction(bounded, writeMail, { n: 2 });
    assert.equal((await statuses(app)).filter((r) => r.status === "pending").length, 5);
    // The flag is the mechanism: the same message, not flagged optional, is written.
    await runAction(bounded, writeMail, { n: 1, topic: "test.announcement" });
  });

  test("[G11] /readyz, /metrics and the admin home show the mail dependency; readiness does not wait for mail", async () => {
    const app = t.get();
    await runAction(env, writeMail, { n: 2 });
    const ready = await fetch(`${app.baseUrl}/readyz`);
    assert.equal(ready.status, 200, "mail is not required for readiness");
    const body = (await ready.json()) as {
      degraded: { mail: { status: string; waiting: number; breaker: string } };
    };
    assert.equal(body.degraded.mail.status, "not configured");
    assert.equal(body.degraded.mail.waiting, 2);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    assert.match(metrics, /clubos_mail_queue_depth 2/);
    assert.match(metrics, /clubos_mail_oldest_waiting_seconds \d/);
    assert.match(metrics, /clubos_mail_dead_letters 0/);
    assert.match(metrics, /clubos_mail_breaker_state/);
  });

  test("[G11] clubos mail test sends through the configured server and says what happened", async () => {
    const { dirs } = t.get();
    // Spawned without blocking: the SMTP server answering it lives in this process.
    const run = (extra: Record<string, string>) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["bin/clubos.mjs", "mail", "test", "--to", "ops@example.org"],
          {
            cwd: ROOT,
            timeout: 60_000,
            env: { ...process.env, CLUBOS_DATA_DIR: dirs.data, CLUBOS_BACKUP_DIR: dirs.backup, ...extra },
          },
          (error, stdout, stderr) =>
            resolve({
              status: error ? Number(error.code ?? 1) : 0,
              stdout: String(stdout),
              stderr: String(stderr),
            }),
        );
      });
    const ok = await run({ SMTP_URL: smtp.url, MAIL_FROM: FROM });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Accepted by the mail server/);
    assert.equal(smtp.received.length, 1);
    assert.deepEqual(smtp.received[0]!.to, ["ops@example.org"]);
    smtp.behaviour = "reject";
    const refused = await run({ SMTP_URL: smtp.url, MAIL_FROM: FROM });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refused the message for good.*Mailbox does not exist/s);
    const none = await run({ SMTP_URL: "" });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /No mail server is configured.*\[mail_not_configured\]/s);
  });
});
