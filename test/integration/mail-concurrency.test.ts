import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { defineAction, runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { connectPostgres, type Database } from "../../src/core/db/connect.ts";
import { MailService } from "../../src/domains/mail/mail.service.ts";
import { startTestApp, type TestApp } from "../helpers/app.ts";
import { postgresOnly } from "../helpers/engines.ts";
import { startTestSmtp, type TestSmtp, testMailSettings } from "../helpers/smtp.ts";

const MESSAGES = 300;

const writeMail = defineAction({
  name: "test.writeManyMail",
  access: { capability: "members:write" },
  effect: "write",
  async run(_scope, input: { n: number; batch: number }) {
    return {
      result: input.batch,
      audit: { action: "test.mail_written", subjectType: "test", subjectId: String(input.batch) },
      outbox: Array.from({ length: input.n }, (_, i) => ({
        topic: "test.notice",
        recipient: `many${input.batch}-${i}@example.org`,
        subject: `Many ${input.batch}.${i}`,
        body: "Hello",
      })),
    };
  },
});

const service = (smtp: TestSmtp) => new MailService(testMailSettings(smtp));

postgresOnly("mail delivery with several workers", () => {
  let app: TestApp;
  let smtp: TestSmtp;
  const extra: Database[] = [];

  before(async () => {
    app = await startTestApp("postgres");
    smtp = await startTestSmtp("accept");
  });
  after(async () => {
    for (const db of extra) await db.close();
    await smtp.close();
    await app.close();
  });

  const fill = async () => {
    const env = app.runtime.actionEnv(systemActor("test"));
    for (let b = 0; b < MESSAGES / 50; b++) await runAction(env, writeMail, { n: 50, batch: b });
  };

  test("[G11] two workers on their own connections never send one message twice (SKIP LOCKED claims)", async () => {
    await fill();
    const connections = [connectPostgres(app.testDb.url!), connectPostgres(app.testDb.url!)];
    extra.push(...connections);
    const workers = connections.map((c, i) => service(smtp).makeWorker(c.db, { id: `worker:${i}` }));
    // Small batches, so the two interleave claims many times over.
    for (const w of workers) w["options"].batch = 5;
    const passes = await Promise.all(workers.map((w) => w.drain()));
    assert.equal(smtp.received.length, MESSAGES, `every message delivered: ${JSON.stringify(passes)}`);
    assert.deepEqual(smtp.duplicates(), [], "none delivered twice");
    assert.ok(
      passes.every((p) => p.sent > 0),
      `both workers worked: ${passes.map((p) => p.sent)}`,
    );
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::integer AS n FROM outbox WHERE status = 'sent'`.execute(app.runtime.database.db);
    assert.equal(rows[0]!.n, MESSAGES);
  });

  test("[G11] without claims, two senders reading the same due rows send duplicates (what the claim prevents)", async () => {
    await fill();
    const before = smtp.received.length;
    const mail = service(smtp);
    // The naive path: read what is due and send it, with no claim, lease or SKIP LOCKED.
    const naive = async () => {
      const due = await app.runtime.database.db
        .selectFrom("outbox")
        .select(["id", "recipient", "subject", "body"])
        .where("status", "=", "pending")
        .limit(20)
        .execute();
      for (const m of due)
        await mail.delivery.attempt({
          to: m.recipient!,
          subject: m.subject!,
          text: m.body!,
          messageId: `<${m.id}@mail.test>`,
        });
    };
    await Promise.all([naive(), naive()]);
    assert.ok(smtp.received.length > before);
    assert.ok(smtp.duplicates().length > 0, "the same messages went out twice");
  });

  test("[G11] clubos worker delivers the outbox on its own and stops cleanly on SIGTERM", async () => {
    const env = app.runtime.actionEnv(systemActor("test"));
    const ours = () => smtp.received.filter((r) => r.to[0]?.startsWith("many900-")).length;
    await runAction(env, writeMail, { n: 3, batch: 900 });
    const child = spawn(process.execPath, ["bin/clubos.mjs", "worker"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: {
        ...process.env,
        DATABASE_URL: app.testDb.url!,
        SMTP_URL: smtp.url,
        MAIL_FROM: "Club <club@mail.test>",
        CLUBOS_MAIL_POLL_MS: "50",
        CLUBOS_DATA_DIR: app.dirs.data,
        CLUBOS_BACKUP_DIR: app.dirs.backup,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      // Starting a process (loading and compiling the CLI) can take long on a busy machine; that is not
      // what this test is about, so the 20 s for the delivery count from the worker's start.
      for (let i = 0; i < 1200 && !/Mail worker worker:\w+ running/.test(output); i++) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(output, /Mail worker worker:\w+ running/);
      for (let i = 0; i < 200 && ours() < 3; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(ours(), 3, output);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, output);
  });
});
