import assert from "node:assert/strict";
import net from "node:net";
import { afterEach, beforeEach, test } from "node:test";
import { sql } from "kysely";
import { defineAction, runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { MailService } from "../../src/domains/mail/mail.service.ts";
import { suiteApp, type TestApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { startTestSmtp, testMailSettings } from "../helpers/smtp.ts";

/* G11: the worker in the server's process yields to the club's requests. While a request is in flight
 * it sends at most its busy pace (CLUBOS_MAIL_BUSY_BATCH per CLUBOS_MAIL_BUSY_INTERVAL_MS), never
 * nothing, and at full speed again once the requests end. The requests are real ones, held open through
 * Fastify by a client that has not finished sending its body. */

let serial = 0;

const writeMail = defineAction({
  name: "test.writeYieldMail",
  access: { capability: "members:write" },
  effect: "write",
  async run(_scope, input: { n: number }) {
    serial++;
    return {
      result: serial,
      audit: { action: "test.mail_written", subjectType: "test", subjectId: `yield-${serial}` },
      outbox: Array.from({ length: input.n }, (_, i) => ({
        topic: "test.notice",
        recipient: `yield${serial}-${i}@example.org`,
        subject: `Yield ${serial}.${i}`,
        body: "Hello",
      })),
    };
  },
});

/** Sockets of held requests, closed after each test even if it failed half way. */
const sockets: net.Socket[] = [];

/** A real request to the app that stays in flight: its body is one byte short until `finish`. */
async function heldRequest(app: TestApp) {
  const url = new URL(app.baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let answer = "";
  socket.on("data", (chunk) => {
    answer += chunk.toString("utf8");
  });
  socket.write(
    "POST /api/v1/events/00000000-0000-0000-0000-000000000000/registrations HTTP/1.1\r\n" +
      `Host: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{`,
  );
  await until(() => app.runtime.foreground.active() > 0, "the held request is in flight");
  return {
    /** Sends the last byte and waits for the answer. */
    async finish() {
      socket.write("}");
      await until(() => /^HTTP\/1\.1 \d{3}/.test(answer), "the held request was answered");
      socket.destroy();
    },
    /** The client goes away without finishing. */
    abort: () => socket.destroy(),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachEngine("mail worker yields to requests in flight", (engine) => {
  const t = suiteApp(engine);

  beforeEach(async () => {
    await sql`UPDATE outbox SET status = 'cancelled' WHERE status IN ('pending', 'held', 'dead')`.execute(
      t.get().runtime.database.db,
    );
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await until(() => t.get().runtime.foreground.active() === 0, "no request is in flight");
  });

  /** A mail service whose workers yield to this app's requests, as `clubos serve` wires it. */
  const service = async (pace: { busyBatch: number; busyIntervalMs: number }) => {
    const smtp = await startTestSmtp("accept");
    const mail = new MailService(testMailSettings(smtp, pace), t.get().runtime.foreground);
    return { smtp, mail };
  };

  test("[G11] while a request is in flight the worker sends at most its busy pace, then full speed once it ends", async () => {
    const app = t.get();
    const { smtp, mail } = await service({ busyBatch: 1, busyIntervalMs: 200 });
    try {
      await runAction(app.runtime.actionEnv(systemActor("test")), writeMail, { n: 40 });
      const request = await heldRequest(app);
      mail.startWorker(app.runtime.database.db);
      const started = performance.now();
      await wait(1_000);
      const busySent = smtp.received.length;
      const busyMs = performance.now() - started;
      // One message per 200 ms, the first at once: at most 1 + busyMs / 200 (6 in one second).
      assert.ok(
        busySent <= 1 + Math.ceil(busyMs / 200),
        `sent ${busySent} in ${busyMs.toFixed(0)} ms while busy`,
      );
      assert.ok(busySent >= 1, "mail still leaves a busy server");
      await request.finish();
      const idleStarted = performance.now();
      await until(() => smtp.received.length === 40, "all 40 were sent");
      const idleMs = performance.now() - idleStarted;
      // The rest (34 or more) would take 6.8 s at the busy pace.
      assert.ok(idleMs < 3_000, `the rest took ${idleMs.toFixed(0)} ms once the server was idle`);
      assert.deepEqual(smtp.duplicates(), []);
    } finally {
      await mail.stopWorker();
      await smtp.close();
    }
  });

  test("[G11] under load that never ends, mail still goes out at the busy pace; an aborted request stops counting", async () => {
    const app = t.get();
    const { smtp, mail } = await service({ busyBatch: 2, busyIntervalMs: 50 });
    try {
      await runAction(app.runtime.actionEnv(systemActor("test")), writeMail, { n: 12 });
      const request = await heldRequest(app);
      mail.startWorker(app.runtime.database.db);
      await until(() => smtp.received.length === 12, "all 12 were sent under load");
      assert.ok(app.runtime.foreground.busy(), "the request was in flight throughout");
      request.abort();
      await until(() => app.runtime.foreground.active() === 0, "the aborted request no longer counts");
      assert.deepEqual(smtp.duplicates(), []);
    } finally {
      await mail.stopWorker();
      await smtp.close();
    }
  });
});
