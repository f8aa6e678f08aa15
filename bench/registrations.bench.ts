/* `npm run bench:registrations`: the registration stampede through the HTTP API at 16 and 64 clients
 * on PostgreSQL, beside pgbench (TPC-B-like, same client count, same server, same run) as the physical
 * reference; then the admin member list with 100,000 members. Reports registrations/s, p99, the ratio
 * to pgbench's tps (target >= 0.3 at 16 clients) and the list's p50 server time (target < 50 ms). */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { sql } from "kysely";
import { loadConfig } from "../src/app/config.ts";
import { openRuntime } from "../src/app/runtime.ts";
import { buildServer } from "../src/app/server.ts";
import { runAction } from "../src/core/action.ts";
import { systemActor } from "../src/core/actor.ts";
import { connectPostgres } from "../src/core/db/connect.ts";
import { migrate } from "../src/core/db/migrate.ts";
import { hashSecret } from "../src/core/secrets.ts";
import { createEvent } from "../src/domains/events/events.actions.ts";
import { createBenchDatabase, median, quantile } from "./lib/harness.ts";
import {
  prepareRegistrationSql,
  registrationSqlScript,
  restartRegistrationSql,
} from "./lib/registration-sql.ts";
import { appendResults, machineDetails } from "./lib/report.ts";
import { seedTokenMembers } from "./lib/token-members.ts";

const PGBIN = "/usr/lib/postgresql/15/bin";
const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const clientCounts = (process.env.BENCH_CLIENTS || "16,64").split(",").map(Number);
const durationMs = Number(process.env.BENCH_DURATION_MS || 5000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS || 1000);
const repeats = Number(process.env.BENCH_REPEATS || 3);
const listMembers = Number(process.env.BENCH_LIST_MEMBERS || 100_000);
const seedMembers = Number(process.env.BENCH_MEMBERS || 40_000);

/** Runs the stampede's clients on a worker thread (bench/lib/http-load-worker.mjs), each member once. */
function httpStampede(url: string, tokens: string[], clients: number) {
  return new Promise<{
    actions: number;
    seconds: number;
    latenciesMs: number[];
    failures: number;
    firstFailure: string | null;
    used: number;
  }>((resolve, reject) => {
    const worker = new Worker(new URL("./lib/http-load-worker.mjs", import.meta.url), {
      workerData: { url, tokens, clients, warmupMs, durationMs },
    });
    worker.once("error", reject);
    worker.once("message", (m) => {
      if (m.error) reject(new Error(m.error));
      else resolve({ ...m, actions: m.latenciesMs.length, seconds: durationMs / 1000 });
    });
  });
}

function pgbench(url: string, clients: number, seconds: number, script?: string): number {
  const out = execFileSync(
    `${PGBIN}/pgbench`,
    ["-n", "-c", String(clients), "-j", "2", "-T", String(seconds), ...(script ? ["-f", script] : []), url],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1];
  if (!tps) throw new Error(`Could not read pgbench's tps:\n${out}`);
  return Number(tps);
}

const app = await createBenchDatabase(serverUrl);
// Two references: pgbench's default scale 1, where every transaction updates the one branch row as every
// registration locks the one event row (the same hot-row shape: the target's ratio uses this one), and
// scale = clients, where transactions spread over many branches (what the server does without a hot row).
const ref = await createBenchDatabase(serverUrl);
const spread = await createBenchDatabase(serverUrl);
// Idle connections close quickly so pgbench's clients fit under max_connections between runs.
const database = connectPostgres(app.url, Math.max(...clientCounts) + 4, 300);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-"));
try {
  await migrate(database);
  const config = loadConfig({
    CLUBOS_DATA_DIR: path.join(root, "data"),
    CLUBOS_BACKUP_DIR: path.join(root, "backups"),
    CLUBOS_DEMO: "0",
    LOG_LEVEL: "error",
  });
  const runtime = await openRuntime(config, { migrations: "none", database });
  await runtime.modes.start(); // until the mode is read, writes are refused (fail closed)
  const server = await buildServer(runtime);
  const base = await server.listen({ port: 0, host: "127.0.0.1" });
  console.log("# seeding members and the pgbench reference database");
  const tokens = await seedTokenMembers(database.db, seedMembers, `bench${Date.now()}-`);
  execFileSync(`${PGBIN}/pgbench`, ["-i", "-q", "-s", "1", ref.url], { stdio: "ignore" });
  execFileSync(`${PGBIN}/pgbench`, ["-i", "-q", "-s", String(Math.max(...clientCounts)), spread.url], {
    stdio: "ignore",
  });
  await prepareRegistrationSql(database);
  const scriptFile = path.join(root, "registration.sql");
  const rows: string[] = [];
  const ratios = new Map<number, number[]>();
  const newEvent = (title: string) =>
    runAction(runtime.actionEnv(systemActor("bench")), createEvent, {
      title,
      startsAt: new Date(Date.now() + 86_400_000).toISOString(),
      endsAt: new Date(Date.now() + 90_000_000).toISOString(),
      capacity: 500,
      audience: "members",
      status: "published",
    });
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const clients of clientCounts) {
      const event = await newEvent(`Stampede ${repeat}-${clients}`);
      const load = await httpStampede(`${base}/api/v1/events/${event.id}/registrations`, tokens, clients);
      tokens.splice(0, load.used); // each member registers once per run, for a fresh event each run
      if (load.firstFailure) console.log(`# first refusal: ${load.firstFailure}`);
      const failures = load.failures;
      const rate = load.actions / load.seconds;
      await new Promise((r) => setTimeout(r, 1500));
      const tps = pgbench(ref.url, clients, Math.round(durationMs / 1000));
      await new Promise((r) => setTimeout(r, 500));
      const tpsSpread = pgbench(spread.url, clients, Math.round(durationMs / 1000));
      // The same registrations as SQL alone, for a fresh event: the share that is the database's.
      fs.writeFileSync(scriptFile, registrationSqlScript((await newEvent(`SQL ${repeat}-${clients}`)).id));
      await restartRegistrationSql(database);
      await new Promise((r) => setTimeout(r, 500));
      const sqlOnly = pgbench(app.url, clients, Math.round(durationMs / 1000), scriptFile);
      ratios.set(clients, [...(ratios.get(clients) ?? []), rate / tps]);
      const line = `| ${repeat + 1} | ${clients} | ${rate.toFixed(0)} | ${quantile(load.latenciesMs, 0.5).toFixed(1)} | ${quantile(load.latenciesMs, 0.99).toFixed(1)} | ${tps.toFixed(0)} | ${(rate / tps).toFixed(2)} | ${tpsSpread.toFixed(0)} | ${(rate / tpsSpread).toFixed(2)} | ${sqlOnly.toFixed(0)} | ${(rate / sqlOnly).toFixed(2)} | ${failures} |`;
      console.log(line);
      rows.push(line);
    }
  }
  console.log(`# inserting ${listMembers} members for the list page`);
  await sql`INSERT INTO members (name, email, status, joined_on)
    SELECT 'Member ' || md5(i::text), 'list' || i || '@example.org', (ARRAY['active','active','active','lapsed','pending'])[1 + i % 5], date '2000-01-01' + (i % 9000)
    FROM generate_series(1, ${listMembers}::int) i`.execute(database.db);
  const committee = await sql<{
    id: string;
  }>`WITH c AS (INSERT INTO committees (name) VALUES ('Bench committee') RETURNING id),
      m AS (INSERT INTO committee_memberships (committee_id, member_id, role, granted_by)
            SELECT c.id, members.id, 'member', 'system:bench' FROM c, members WHERE members.email LIKE 'list%' LIMIT 40)
    SELECT id FROM c`.execute(database.db);
  // A club's member table is mostly at rest: measure the list after autovacuum's work, not during it.
  await sql`VACUUM ANALYZE members`.execute(database.db);
  await sql`ANALYZE committee_memberships`.execute(database.db);
  const [admin] = await seedTokenMembers(database.db, 1, `listadmin${Date.now()}-`);
  await sql`INSERT INTO role_assignments (member_id, role_key, granted_by)
    SELECT member_id, 'membership_chair', 'system:bench' FROM api_tokens WHERE token_hash = ${hashSecret(admin!)}`.execute(
    database.db,
  );
  const listTimes: Record<string, number[]> = {};
  const pages = {
    "first page": "/admin/members",
    search: "/admin/members?search=member+a1",
    "status filter": "/admin/members?status=lapsed",
    "by joining date": "/admin/members?sort=joined",
    "committee filter": `/admin/members?committee=${committee.rows[0]!.id}`,
  };
  for (const [label, url] of Object.entries(pages)) {
    listTimes[label] = [];
    for (let i = 0; i < 60; i++) {
      const res = await fetch(base + url, { headers: { authorization: `Bearer ${admin}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      const dur = Number(/dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1]);
      if (i >= 10) listTimes[label]!.push(dur);
    }
  }
  const listLines = Object.entries(listTimes).map(
    ([label, t]) => `| ${label} | ${quantile(t, 0.5).toFixed(1)} | ${quantile(t, 0.99).toFixed(1)} |`,
  );
  console.log(listLines.join("\n"));
  const summary = clientCounts
    .map((c) => `${c} clients: median ratio ${median(ratios.get(c) ?? []).toFixed(2)}`)
    .join("; ");
  console.log(`# ${summary} (target >= 0.3 at 16 clients)`);
  const section = [
    `## bench:registrations, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    ...(await machineDetails(database)),
    `- Settings: ${durationMs} ms runs after ${warmupMs} ms warm-up, ${repeats} repeats, event capacity 500 (the rest waitlisted); pgbench -j 2 right after each stampede run at scale 1 (one hot branch row, the same shape as one event: the target's reference), at scale ${Math.max(...clientCounts)} (spread), and running the registration's own SQL (bench/lib/registration-sql.ts) for a fresh event`,
    "",
    "| repeat | clients | registrations/s | p50 ms | p99 ms | pgbench tps (scale 1) | ratio | pgbench tps (spread) | ratio | its SQL alone (pgbench) | HTTP ÷ SQL | non-201 |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    `Median ratio to pgbench: ${summary}. Target: at least 0.3 at 16 clients.`,
    "",
    `Admin member list with ${listMembers} members (server time from the Server-Timing header, 50 requests each after 10 warm-up):`,
    "",
    "| page | p50 ms | p99 ms |",
    "|---|---|---|",
    ...listLines,
    "",
    "Target: p50 under 50 ms.",
  ].join("\n");
  if (process.env.BENCH_RESULTS !== "0")
    appendResults(path.join(path.dirname(fileURLToPath(import.meta.url)), "RESULTS.md"), section);
  await server.close();
  await runtime.close();
} finally {
  await database.close().catch(() => {});
  await app.drop();
  await ref.drop();
  await spread.drop();
  fs.rmSync(root, { recursive: true, force: true });
}
