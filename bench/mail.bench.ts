/* `npm run bench:mail` (issue 9): (a) an announcement to BENCH_MAIL_MEMBERS (10,000) members, queued by
 * the real action and delivered by the real worker (claims, leases, bookkeeping) to a local SMTP sink
 * (smtp-server), beside nodemailer alone sending the same messages to the same sink in the same run, with
 * the same pool (4 connections) and the same 4 lanes: target ratio >= 0.8. (b) registration p99 through
 * the real app's HTTP API while the outbox drains 10,000 messages, beside p99 with an idle outbox, in
 * the same run: target within 10%. */
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { sql } from "kysely";
import nodemailer from "nodemailer";
import { SMTPServer } from "smtp-server";
import { loadConfig } from "../src/app/config.ts";
import { openRuntime, type Runtime } from "../src/app/runtime.ts";
import { buildServer } from "../src/app/server.ts";
import { runAction } from "../src/core/action.ts";
import { systemActor } from "../src/core/actor.ts";
import { connectPostgres } from "../src/core/db/connect.ts";
import { migrate } from "../src/core/db/migrate.ts";
import { createEvent } from "../src/domains/events/events.actions.ts";
import { sendAnnouncement } from "../src/domains/members/announcements.actions.ts";
import { createBenchDatabase, median, quantile } from "./lib/harness.ts";
import { appendResults, machineDetails } from "./lib/report.ts";
import { seedTokenMembers } from "./lib/token-members.ts";

const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const members = Number(process.env.BENCH_MAIL_MEMBERS || 10_000);
const repeats = Number(process.env.BENCH_REPEATS || 2);
const clients = Number(process.env.BENCH_CLIENTS || 16);
const durationMs = Number(process.env.BENCH_DURATION_MS || 5000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS || 1000);
const registrantCount = Number(process.env.BENCH_REGISTRANTS || 20_000);
const LANES = 4; // the worker's default concurrency, and its transport's pool size

/** A local SMTP sink: accepts everything, counts what it accepted. */
async function startSink(): Promise<{ url: string; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      stream.on("data", () => {});
      stream.on("end", () => {
        accepted++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The registration stampede's clients on a thread of their own (bench/lib/http-load-worker.mjs). */
function stampede(url: string, tokens: string[]) {
  return new Promise<{ latenciesMs: number[]; failures: number; used: number; firstFailure: string | null }>(
    (resolve, reject) => {
      const worker = new Worker(new URL("./lib/http-load-worker.mjs", import.meta.url), {
        workerData: { url, tokens, clients, warmupMs, durationMs },
      });
      worker.once("error", reject);
      worker.once("message", (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    },
  );
}

/** Queues one announcement to the bench tier through the real action; returns its id and the time. */
async function queueAnnouncement(runtime: Runtime, label: string) {
  const started = performance.now();
  const sent = await runAction(runtime.actionEnv(systemActor("bench")), sendAnnouncement, {
    subject: `Bench announcement ${label}`,
    body: "The **regatta** is on Saturday.\n\nBoats out at nine; bring a packed lunch.",
    audience: { tierKey: "bench" },
    settings: { publicUrl: "https://club.example.org", clubName: "Bench Club" },
  });
  return { id: sent.id, queued: sent.queued, ms: performance.now() - started };
}

const app = await createBenchDatabase(serverUrl);
const database = connectPostgres(app.url, clients + 8, 300);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-mail-"));
const sink = await startSink();
try {
  await migrate(database);
  const config = loadConfig({
    CLUBOS_DATA_DIR: path.join(root, "data"),
    CLUBOS_BACKUP_DIR: path.join(root, "backups"),
    CLUBOS_DEMO: "0",
    LOG_LEVEL: "error",
    SMTP_URL: sink.url,
    MAIL_FROM: "Bench Club <club@bench.test>",
    CLUBOS_MAIL_POLL_MS: "100",
    CLUBOS_OUTBOX_MAX_DEPTH: String(members * 4),
  });
  const runtime = await openRuntime(config, { migrations: "none", database });
  await runtime.modes.start();
  const db = database.db;
  await db
    .insertInto("membership_tiers")
    .values({ key: "bench", name: "Bench", renewal_months: 12 })
    .execute();
  console.log(`# seeding ${members} members to announce to, and ${registrantCount} who register`);
  await seedTokenMembers(db, members, `mail${Date.now()}-`, "bench");
  // The registrants are in another tier, so the announcement goes to exactly `members` people.
  const registrants = await seedTokenMembers(db, registrantCount, `reg${Date.now()}-`);

  // (a) Throughput: nodemailer alone vs. the outbox and its worker, each over the same messages.
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: LANES,
    maxMessages: 100,
    host: "127.0.0.1",
    port: Number(new URL(sink.url).port),
    ignoreTLS: true,
  });
  const throughput: string[] = [];
  const ratios: number[] = [];
  const workerRates: number[] = [];
  let queueMs: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const queued = await queueAnnouncement(runtime, `a${repeat}`);
    queueMs.push(queued.ms);
    const rows = await db
      .selectFrom("outbox")
      .select(["id", "recipient", "subject", "body", "payload"])
      .where(sql<string>`payload->>'announcementId'`, "=", queued.id)
      .execute();
    // nodemailer alone: the same messages (text, HTML, headers), 4 lanes over a 4-connection pool.
    const before = sink.accepted();
    let next = 0;
    const plainStarted = performance.now();
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < rows.length) {
          const m = rows[next++]!;
          const payload = m.payload as { html?: string; headers?: Record<string, string> };
          await transport.sendMail({
            from: "Bench Club <club@bench.test>",
            to: m.recipient!,
            subject: m.subject!,
            text: m.body!,
            html: payload.html,
            headers: payload.headers,
            messageId: `<plain-${m.id}@bench.test>`,
          });
        }
      }),
    );
    const plainSeconds = (performance.now() - plainStarted) / 1000;
    if (sink.accepted() - before !== rows.length) throw new Error("nodemailer alone lost messages");
    // The real worker over the outbox rows the action wrote.
    const workerBefore = sink.accepted();
    const workerStarted = performance.now();
    const pass = await runtime.mail!.makeWorker(db).drain();
    const workerSeconds = (performance.now() - workerStarted) / 1000;
    if (pass.sent !== rows.length || sink.accepted() - workerBefore !== rows.length)
      throw new Error(`the worker sent ${pass.sent} of ${rows.length}`);
    const plainRate = rows.length / plainSeconds;
    const workerRate = rows.length / workerSeconds;
    ratios.push(workerRate / plainRate);
    workerRates.push(workerRate);
    const line = `| ${repeat + 1} | ${rows.length} | ${(queued.ms / 1000).toFixed(2)} | ${plainRate.toFixed(0)} | ${workerRate.toFixed(0)} | ${(workerRate / plainRate).toFixed(2)} |`;
    console.log(line);
    throughput.push(line);
  }
  transport.close();

  // (b) Registration p99 with an idle outbox, then while 10,000 messages drain, alternately.
  const server = await buildServer(runtime);
  const base = await server.listen({ port: 0, host: "127.0.0.1" });
  const newEvent = (title: string) =>
    runAction(runtime.actionEnv(systemActor("bench")), createEvent, {
      title,
      startsAt: new Date(Date.now() + 86_400_000).toISOString(),
      endsAt: new Date(Date.now() + 90_000_000).toISOString(),
      capacity: 500,
      audience: "members",
      status: "published",
    });
  const latency: string[] = [];
  const p99: Record<"idle" | "draining", number[]> = { idle: [], draining: [] };
  const restRates: number[] = [];
  const pendingMessages = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox WHERE status = 'pending'`.execute(db))
      .rows[0]!.n;
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const state of ["idle", "draining"] as const) {
      const event = await newEvent(`Stampede ${repeat} ${state}`);
      let drained = 0;
      let waiting = 0;
      let rest = "";
      if (state === "draining") {
        await queueAnnouncement(runtime, `b${repeat}`);
        runtime.mail!.startWorker(db);
        await new Promise((r) => setTimeout(r, 300)); // the worker is sending before the clients start
      }
      const sentBefore = sink.accepted();
      const load = await stampede(`${base}/api/v1/events/${event.id}/registrations`, registrants);
      registrants.splice(0, load.used);
      if (state === "draining") {
        drained = sink.accepted() - sentBefore;
        waiting = await pendingMessages();
        // The same worker drains the rest once the registrations stop (the announcement's, and the
        // registrations' confirmations): a worker starved by the load would show here, and the next
        // idle run must be idle.
        const restStarted = performance.now();
        const restSent = sink.accepted();
        for (let left = waiting; left > 0; left = await pendingMessages()) {
          if (performance.now() - restStarted > 600_000)
            throw new Error(`the worker left ${left} messages unsent for 10 minutes`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const restSeconds = (performance.now() - restStarted) / 1000;
        const restCount = sink.accepted() - restSent;
        rest = `${restCount} in ${restSeconds.toFixed(1)} s (${(restCount / restSeconds).toFixed(0)} msg/s)`;
        restRates.push(restCount / restSeconds);
        await runtime.mail!.stopWorker();
      }
      const p = quantile(load.latenciesMs, 0.99);
      p99[state].push(p);
      const line = `| ${repeat + 1} | ${state} | ${load.latenciesMs.length} | ${quantile(load.latenciesMs, 0.5).toFixed(1)} | ${p.toFixed(1)} | ${state === "draining" ? `${drained} (${waiting} still waiting)` : "0"} | ${rest || "-"} | ${load.failures} |`;
      console.log(line);
      latency.push(line);
    }
  }
  await server.close();
  const ratio = median(ratios);
  const p99Ratio = median(p99.draining) / median(p99.idle);
  const verdictA = ratio >= 0.8 ? "met" : "not met";
  const verdictB = p99Ratio <= 1.1 ? "met" : "not met";
  console.log(`# throughput ratio ${ratio.toFixed(2)} (target >= 0.8: ${verdictA})`);
  console.log(`# registration p99 draining ÷ idle ${p99Ratio.toFixed(2)} (target <= 1.10: ${verdictB})`);
  queueMs = queueMs.sort((x, y) => x - y);
  const section = [
    `## bench:mail, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    ...(await machineDetails(database)),
    `- Load average (1, 5, 15 min) at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(", ")} on ${os.availableParallelism()} cores (the machine is shared with other work)`,
    `- Settings: announcement to ${members} members; ${repeats} repeats; SMTP sink: smtp-server on loopback in the bench process; worker batch 20, ${LANES} lanes, pooled nodemailer transport (${LANES} connections), as clubos serve runs it; registrations: ${clients} clients, ${durationMs} ms after ${warmupMs} ms warm-up, event capacity 500 (the rest waitlisted), the worker in the server's process as clubos serve starts it, yielding to requests in flight at ${config.mail.busyBatch} messages per ${config.mail.busyIntervalMs} ms (CLUBOS_MAIL_BUSY_BATCH, CLUBOS_MAIL_BUSY_INTERVAL_MS); each registration queues its confirmation, which drains with the announcement`,
    "",
    "(a) messages/s, nodemailer alone vs. the outbox and its worker, over the same messages:",
    "",
    "| repeat | messages | queueing (the action), s | nodemailer alone msg/s | outbox + worker msg/s | ratio |",
    "|---|---|---|---|---|---|",
    ...throughput,
    "",
    `Median ratio ${ratio.toFixed(2)}; target at least 0.8: ${verdictA}.`,
    "",
    "(b) registration latency, idle outbox vs. while the announcement drains:",
    "",
    "| repeat | outbox | registrations | p50 ms | p99 ms | messages sent during the run | the rest, sent after the registrations stopped | non-201 |",
    "|---|---|---|---|---|---|---|---|",
    ...latency,
    "",
    `Median p99 draining ÷ idle: ${p99Ratio.toFixed(2)}; target within 10% (at most 1.10): ${verdictB}. After the registrations stopped, the same worker sent the rest at a median ${median(restRates).toFixed(0)} msg/s (its drain alone, (a): ${median(workerRates).toFixed(0)} msg/s).`,
  ].join("\n");
  if (process.env.BENCH_RESULTS !== "0")
    appendResults(path.join(path.dirname(fileURLToPath(import.meta.url)), "RESULTS.md"), section);
  await runtime.close();
} finally {
  await sink.close().catch(() => {});
  await database.close().catch(() => {});
  await app.drop();
  fs.rmSync(root, { recursive: true, force: true });
}
