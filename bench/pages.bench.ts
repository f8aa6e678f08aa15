/* `npm run bench:pages`: the read path. A bare Fastify route returning a fixed string (its own process)
 * beside ClubOS (its own process, as `clubos serve` runs it, logging at warn) serving the home page, the
 * public event list, one event page anonymously and the same page for a signed-in member, a published
 * public page with several blocks and a members-only page for a signed-in member, on PostgreSQL and on
 * PGlite, with autocannon at 50 connections from a process of its own. Reports requests/s, p50/p99 and the
 * ratio to the bare route measured in the same repeat. Targets: the event list and the event page at
 * least 0.35 of the bare route with p99 under 20 ms on PostgreSQL, at least 0.15 on PGlite (issue 7); the
 * public page at least 0.5 with p99 under 20 ms and the members-only page at least 0.3, on both engines
 * (issue 10). */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/app/config.ts";
import { openRuntime } from "../src/app/runtime.ts";
import { connectPostgres, type Database } from "../src/core/db/connect.ts";
import { SESSION_COOKIE } from "../src/domains/identity/authenticate.ts";
import { type BenchClub, seedBenchClub } from "./lib/club-seed.ts";
import { cpuBetween, cpuSnapshot, settled } from "./lib/cpu-time.ts";
import { createBenchDatabase, median } from "./lib/harness.ts";
import { seedBenchPages } from "./lib/pages-seed.ts";
import { appendResults, machineDetails } from "./lib/report.ts";
import { type ChildServer, startBare, startClubos } from "./lib/servers.ts";

type Engine = "postgres" | "pglite";
type PageKey = "home" | "events" | "event" | "event-member" | "page" | "page-member";
const PAGE_KEYS: PageKey[] = ["home", "events", "event", "event-member", "page", "page-member"];

const short = process.env.BENCH_SHORT === "1";
const num = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}".`);
  return value;
};
const list = <T extends string>(name: string, fallback: T[], allowed: T[]): T[] => {
  const values = (process.env[name] || fallback.join(",")).split(",").map((v) => v.trim()) as T[];
  const wrong = values.filter((v) => !allowed.includes(v));
  if (wrong.length)
    throw new Error(`${name}: unknown ${wrong.join(", ")}; choose from ${allowed.join(", ")}.`);
  return values;
};
const settings = {
  serverUrl: process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
  engines: list<Engine>("BENCH_ENGINES", ["postgres", "pglite"], ["postgres", "pglite"]),
  pages: list<PageKey>("BENCH_PAGES", PAGE_KEYS, PAGE_KEYS),
  connections: Math.max(1, num("BENCH_CONNECTIONS", 50)),
  durationMs: Math.max(1000, num("BENCH_DURATION_MS", short ? 3000 : 10_000)),
  warmupMs: num("BENCH_WARMUP_MS", short ? 1000 : 2000),
  repeats: Math.max(1, num("BENCH_REPEATS", short ? 1 : 2)),
  events: num("BENCH_EVENTS", 20),
  cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  writeResults: process.env.BENCH_RESULTS !== "0" && !short,
};
// Names the code measured in the RESULTS.md heading, e.g. "before: src at 9a6e1b2".
const label = process.env.BENCH_LABEL;

const PAGE_LABELS: Record<PageKey, string> = {
  home: "home page `/`",
  events: "event list `/events`",
  event: "event page `/events/:id`",
  "event-member": "event page, signed-in member",
  page: "published page `/p/:slug`, public, 6 blocks",
  "page-member": "members-only page `/p/:slug`, signed-in member",
};

/** The targets each page is held to: ratio to bare by engine, and the p99 bound where there is one. */
const TARGETS: Partial<Record<PageKey, { ratio: Record<Engine, number>; p99?: Engine[] }>> = {
  events: { ratio: { postgres: 0.35, pglite: 0.15 }, p99: ["postgres"] },
  event: { ratio: { postgres: 0.35, pglite: 0.15 }, p99: ["postgres"] },
  "event-member": { ratio: { postgres: 0.35, pglite: 0.15 }, p99: ["postgres"] },
  page: { ratio: { postgres: 0.5, pglite: 0.5 }, p99: ["postgres", "pglite"] },
  "page-member": { ratio: { postgres: 0.3, pglite: 0.3 } },
};

interface Target {
  engine: Engine | "bare";
  page: PageKey | "bare";
  url: string;
  headers: Record<string, string>;
  /** Text the page must contain, checked before it is measured: the bench measures the page it means. */
  expect: string;
  /** The process serving it, and the database whose backends serve that process (PostgreSQL only). */
  pid: number;
  database?: Database;
}

interface Run {
  target: Target;
  repeat: number;
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU microseconds per request of the serving process and of its PostgreSQL backends. */
  serverUs: number;
  /** Of serverUs, the main thread's (the rest: V8's collector helpers, libuv's pool). */
  mainUs: number;
  databaseUs: number;
}

/** One measured run: autocannon in its own process; CPU time is read when its warm-up ends and when its
 * measured run ends. */
function load(target: Target): Promise<Omit<Run, "target" | "repeat">> {
  const args = { url: target.url, headers: target.headers, connections: settings.connections };
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("./lib/autocannon-run.mjs", import.meta.url)),
      JSON.stringify({ ...args, warmupMs: settings.warmupMs, durationMs: settings.durationMs }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let before: Promise<Map<string, number>> | undefined;
    let buffered = "";
    child.once("error", reject);
    child.once("exit", (code) => code && reject(new Error(`autocannon exited with ${code}`)));
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === "measuring") before = cpuSnapshot(target.pid, target.database);
        else if (line.startsWith("{")) {
          const result = JSON.parse(line);
          const after = cpuSnapshot(target.pid, target.database);
          Promise.all([before!, after])
            .then(([b, a]) => {
              const cpu = cpuBetween(b, a);
              const perRequest = (ms: number) => (1000 * ms) / Math.max(1, result.requests);
              resolve({
                ...result,
                serverUs: perRequest(cpu.server),
                mainUs: perRequest(cpu.main),
                databaseUs: perRequest(cpu.database),
              });
            })
            .catch(reject);
        }
      }
    });
  });
}

async function check(target: Target): Promise<void> {
  const res = await fetch(target.url, { headers: target.headers });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(target.expect)) {
    throw new Error(
      `${target.engine} ${target.page}: ${res.status}, expected "${target.expect}" in:\n${text.slice(0, 2000)}`,
    );
  }
}

/** Signs the bench member in through the login form, as a browser would; returns the session cookie. */
async function signIn(base: string, member: BenchClub["member"]): Promise<string> {
  const res = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(member).toString(),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (res.status !== 303 || !cookie) throw new Error(`Login answered ${res.status} without a session.`);
  return cookie.split(";")[0]!;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-pages-bench-"));
const pgDatabase = await createBenchDatabase(settings.serverUrl);
const servers: ChildServer[] = [];
// Reads which PostgreSQL backends serve the bench database, for their CPU time.
const observer = connectPostgres(pgDatabase.url, 1);
let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  for (const s of servers) await s.stop().catch(() => {});
  await observer.close().catch(() => {});
  await pgDatabase.drop().catch(() => {});
  fs.rmSync(root, { recursive: true, force: true });
}
process.once("SIGINT", () => void cleanUp().finally(() => process.exit(130)));

try {
  const targets: Target[] = [];
  for (const engine of settings.engines) {
    const dirs = {
      CLUBOS_DATA_DIR: path.join(root, engine, "data"),
      CLUBOS_BACKUP_DIR: path.join(root, engine, "backups"),
    };
    const env: Record<string, string> = {
      ...dirs,
      ...(engine === "postgres" ? { DATABASE_URL: pgDatabase.url } : {}),
    };
    // Seeded in this process, closed (the embedded folder has one owner), then served by the child.
    console.log(`# seeding the club on ${engine}`);
    const runtime = await openRuntime(loadConfig({ ...env, LOG_LEVEL: "warn" }), { migrations: "apply" });
    const club = await seedBenchClub(runtime, settings.events);
    const published = await seedBenchPages(runtime);
    await runtime.close();
    const profDir = settings.cpuProfDir && path.join(settings.cpuProfDir, engine);
    const server = await startClubos(env, profDir);
    servers.push(server);
    // Its start-up jobs (the leak audit, the invariant scan, a backup...) are not what is measured.
    await settled(server.pid);
    const cookie = await signIn(server.url, club.member);
    const serving = { pid: server.pid, database: engine === "postgres" ? observer : undefined };
    const pages: Record<PageKey, Omit<Target, "engine" | "page" | "pid" | "database">> = {
      home: { url: `${server.url}/`, headers: {}, expect: "Welcome to" },
      events: { url: `${server.url}/events`, headers: {}, expect: `href="/events/${club.eventId}"` },
      event: { url: `${server.url}/events/${club.eventId}`, headers: {}, expect: "to register." },
      "event-member": {
        url: `${server.url}/events/${club.eventId}`,
        headers: { cookie },
        expect: "Cancel my registration",
      },
      page: { url: `${server.url}/p/${published.public.slug}`, headers: {}, expect: published.public.expect },
      "page-member": {
        url: `${server.url}/p/${published.members.slug}`,
        headers: { cookie },
        expect: published.members.expect,
      },
    };
    for (const page of settings.pages) targets.push({ engine, page, ...pages[page], ...serving });
  }
  const bare = await startBare();
  servers.push(bare);
  const bareTarget: Target = {
    engine: "bare",
    page: "bare",
    url: `${bare.url}/`,
    headers: {},
    expect: "Hello",
    pid: bare.pid,
  };
  for (const t of [bareTarget, ...targets]) await check(t);

  const runs: Run[] = [];
  const loads: number[] = [];
  const perRun = (settings.warmupMs + settings.durationMs) / 1000;
  console.log(
    `# ${settings.repeats * (targets.length + 2)} runs of ${perRun}s, ${settings.connections} connections`,
  );
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    // The bare route opens and closes each repeat; the pages' ratio is to the mean of the two.
    for (const target of [bareTarget, ...targets, bareTarget]) {
      loads.push(os.loadavg()[0]!);
      const r = { target, repeat, ...(await load(target)) };
      runs.push(r);
      console.log(
        `repeat ${repeat + 1} ${target.engine.padEnd(8)} ${target.page.padEnd(12)} ${r.perSecond.toFixed(0).padStart(6)}/s` +
          `  p50 ${r.p50} ms  p99 ${r.p99} ms  CPU/request ${r.serverUs.toFixed(0)} µs (main thread ${r.mainUs.toFixed(0)}) + database ${r.databaseUs.toFixed(0)} µs${r.non2xx || r.errors ? `  non-2xx ${r.non2xx}, errors ${r.errors}` : ""}`,
      );
    }
  }

  const bareMean = (repeat: number, of: (r: Run) => number) => {
    const values = runs.filter((r) => r.repeat === repeat && r.target === bareTarget).map(of);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const bareRate = (repeat: number) => bareMean(repeat, (r) => r.perSecond);
  const rows: string[] = [];
  const summary: string[] = [];
  for (const target of [bareTarget, ...targets]) {
    const mine = runs.filter((r) => r.target === target);
    const ratios = mine.map((r) => r.perSecond / bareRate(r.repeat));
    // The same comparison by CPU time per request (the page's server plus its database): what the ratio
    // would be if each had the machine to itself, far steadier than requests/s while neighbours are busy.
    const cpuRatios = mine.map((r) => bareMean(r.repeat, (b) => b.serverUs) / (r.serverUs + r.databaseUs));
    const f = (x: number, d = 2) => x.toFixed(d);
    const ratio =
      target === bareTarget
        ? "1.00"
        : `${f(median(ratios))} (${f(Math.min(...ratios))}–${f(Math.max(...ratios))})`;
    const label =
      target === bareTarget ? "bare Fastify route (fixed string)" : PAGE_LABELS[target.page as PageKey];
    const bad = mine.reduce((n, r) => n + r.non2xx + r.errors, 0);
    const p99 = median(mine.map((r) => r.p99));
    const cpu = `${f(median(mine.map((r) => r.serverUs)), 0)} + ${f(median(mine.map((r) => r.databaseUs)), 0)}`;
    rows.push(
      `| ${target.engine} | ${label} | ${f(median(mine.map((r) => r.perSecond)), 0)} | ${median(mine.map((r) => r.p50))} | ${p99} | ${ratio} | ${cpu} | ${target === bareTarget ? "1.00" : f(median(cpuRatios))} | ${bad} |`,
    );
    const held = target.engine === "bare" ? undefined : TARGETS[target.page as PageKey];
    if (held && target.engine !== "bare") {
      const goal = held.ratio[target.engine];
      const bounded = held.p99?.includes(target.engine) ?? false;
      const met = median(ratios) >= goal && (!bounded || p99 < 20);
      summary.push(
        `${target.engine} ${target.page}: ${f(median(ratios))}${bounded ? `, p99 ${p99} ms` : ""} (target ${goal}${bounded ? ", p99 < 20 ms" : ""}) ${met ? "met" : "NOT met"}`,
      );
    }
  }
  const table = [
    "| engine | page | requests/s | p50 ms | p99 ms | ratio to bare: median (min–max) | CPU µs/request: server + database | CPU ratio to bare | non-2xx + errors |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
  console.log(`\n${table}\n\n${summary.join("\n")}`);
  if (settings.writeResults) {
    const pkg = createRequire(import.meta.url);
    const version = (name: string) => (pkg(`${name}/package.json`) as { version: string }).version;
    const machineDb = connectPostgres(pgDatabase.url, 1);
    const machine = await machineDetails(machineDb);
    await machineDb.close();
    const section = [
      `## bench:pages, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${label ? ` (${label})` : ""}`,
      "",
      ...machine,
      `- Load average (1 min) at each run's start: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`,
      `- Settings: autocannon ${version("autocannon")}, ${settings.connections} connections, ${settings.durationMs} ms runs after ${settings.warmupMs} ms warm-up, ${settings.repeats} repeats; Fastify ${version("fastify")}; ClubOS as \`clubos serve\` (LOG_LEVEL=warn) on the demo club plus ${settings.events} events; the bare route in its own process, measured at the start and end of each repeat`,
      "",
      table,
      "",
      `Targets: ${summary.join("; ")}.`,
    ].join("\n");
    appendResults(path.join(path.dirname(fileURLToPath(import.meta.url)), "RESULTS.md"), section);
  }
} finally {
  await cleanUp();
}
