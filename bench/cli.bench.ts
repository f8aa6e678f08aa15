/* `npm run bench:cli`: how long the `clubos` command takes, as a shell script calling it meets it.
 * Each figure is wall time from spawning `node bin/clubos.mjs ...` to its exit (or to its first HTTP
 * answer for a first start). Measured in one run: `clubos mode show` against a running embedded server
 * (target: under 1 s), `clubos --help`, a verb that opens the database itself, and the embedded first
 * start (`clubos serve` on an empty data folder until it answers HTTP) next to PGlite's own first open
 * of a fresh folder (target: within 1.5x). See bench/README.md. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { buildCli } from "../scripts/build-cli.mjs";
import { intEnv, median, quantile } from "./lib/harness.ts";
import { freePort, stop, type TimedRun, timeProcess, timeUntilHttp, timeUntilLine } from "./lib/processes.ts";
import { appendResults, hostDetails } from "./lib/report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "bin", "clubos.mjs");
const calls = Math.max(1, intEnv("BENCH_CALLS", 30));
const directCalls = Math.max(1, intEnv("BENCH_DIRECT_CALLS", 5));
const repeats = Math.max(1, intEnv("BENCH_REPEATS", 5));
const writeResults = process.env.BENCH_RESULTS !== "0";

// PGlite's own first open: create the folder (initdb) and answer a query, in a process of its own. It
// waits a moment after saying so, for its CPU time to be read while it still runs.
const PGLITE_FIRST_OPEN = `import { PGlite } from "@electric-sql/pglite";
const db = await PGlite.create(process.argv[1]);
await db.query("SELECT 1");
console.log("ready");
await new Promise((r) => setTimeout(r, 200));
await db.close();`;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-cli-"));
let folders = 0;
/** A fresh, empty data folder and backup folder, as `npm start` meets them on a new install. */
function freshEnv(port: number): NodeJS.ProcessEnv {
  const dir = path.join(scratch, String(++folders));
  return {
    ...process.env,
    DATABASE_URL: "",
    CLUBOS_DATA_DIR: path.join(dir, "data"),
    CLUBOS_BACKUP_DIR: path.join(dir, "backups"),
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "warn",
  };
}

/** Runs a verb `n` times back to back; fails the benchmark if one fails or prints something unexpected. */
async function verbTimes(args: string[], env: NodeJS.ProcessEnv, n: number, expect: RegExp) {
  const runs: TimedRun[] = [];
  for (let i = 0; i < n; i++) {
    const run = await timeProcess([BIN, ...args], env, ROOT);
    if (run.code !== 0 || !expect.test(run.out))
      throw new Error(`clubos ${args.join(" ")} failed (${run.code}):\n${run.out}\n${run.err}`);
    runs.push(run);
  }
  return runs.map((r) => r.ms);
}

const f0 = (ms: number) => ms.toFixed(0);
const row = (what: string, ms: number[], note = "") =>
  `| ${what} | ${ms.length} | ${f0(median(ms))} | ${f0(quantile(ms, 0.95))} | ${f0(Math.min(...ms))}–${f0(Math.max(...ms))} | ${note} |`;

let running: Awaited<ReturnType<typeof timeUntilHttp>> | undefined;
function cleanUp(): void {
  running?.child.kill("SIGKILL");
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.once("SIGINT", () => {
  cleanUp();
  process.exit(130);
});

try {
  // Untimed: the first call after a source change builds the compiled copy; that is timed on its own below.
  await timeProcess([BIN, "--help"], process.env, ROOT);
  const loads: number[] = [];
  // First starts and PGlite's own first opens, interleaved so both meet the same outside load.
  const firstStarts: number[] = [];
  const pgliteOpens: number[] = [];
  const cpu = { firstStarts: [] as number[], pgliteOpens: [] as number[] };
  let runningEnv: NodeJS.ProcessEnv | undefined;
  for (let r = 0; r < repeats; r++) {
    if (running) await stop(running.child); // each measured process runs alone
    loads.push(os.loadavg()[0]!);
    const folder = path.join(scratch, `pglite-${r}`);
    const open = await timeUntilLine(
      ["--input-type=module", "-e", PGLITE_FIRST_OPEN, folder],
      process.env,
      ROOT,
      /^ready$/m,
    );
    await new Promise((resolve) => open.child.once("exit", resolve));
    pgliteOpens.push(open.ms);
    cpu.pgliteOpens.push(open.cpu);
    const port = await freePort();
    runningEnv = freshEnv(port);
    running = await timeUntilHttp([BIN, "serve"], runningEnv, ROOT, `http://127.0.0.1:${port}/healthz`);
    firstStarts.push(running.ms);
    cpu.firstStarts.push(running.cpu);
    console.log(
      `repeat ${r + 1}: PGlite first open ${f0(open.ms)} ms (CPU ${f0(open.cpu)} ms), ` +
        `clubos first start ${f0(running.ms)} ms (CPU ${f0(running.cpu)} ms)`,
    );
  }
  const env = runningEnv!;

  // The last first start's server keeps running: the verbs reach it through its control socket.
  loads.push(os.loadavg()[0]!);
  const throughSocket = await verbTimes(["mode", "show"], env, calls, /^mode: normal$/m);
  console.log(`mode show (running server): median ${f0(median(throughSocket))} ms`);
  const help = await verbTimes(["--help"], env, calls, /Commands:/);
  console.log(`--help: median ${f0(median(help))} ms`);
  await stop(running!.child);
  // With the server stopped, the same verb opens the embedded database itself.
  loads.push(os.loadavg()[0]!);
  const direct = await verbTimes(["mode", "show"], env, directCalls, /^mode: normal$/m);
  console.log(`mode show (opens the database): median ${f0(median(direct))} ms`);
  // What the first call after a source change adds: building the compiled copy (into a folder of its own).
  const rebuilds: number[] = [];
  for (let i = 0; i < directCalls; i++) {
    const t0 = performance.now();
    await buildCli(esbuild, path.join(scratch, `build-${i}`));
    rebuilds.push(performance.now() - t0);
  }

  const ratio = median(firstStarts) / median(pgliteOpens);
  const cpuRatio = median(cpu.firstStarts) / median(cpu.pgliteOpens);
  const paired = firstStarts.map((ms, i) => ms / pgliteOpens[i]!);
  const pgliteVersion = (
    JSON.parse(
      fs.readFileSync(path.join(ROOT, "node_modules/@electric-sql/pglite/package.json"), "utf8"),
    ) as { version: string }
  ).version;
  const stamp = new Date().toISOString().replace("T", " ").slice(0, 16);
  const section = [
    `## ${stamp} UTC — bench:cli`,
    "",
    "Wall time from spawning `node bin/clubos.mjs ...` to its exit; a first start until its first HTTP " +
      "answer (`GET /healthz`), on an empty data folder with the default settings (demo club seeded).",
    "",
    ...hostDetails(),
    `- PGlite: ${pgliteVersion}`,
    `- Load average (1 min) at the phases' starts: ${loads.map((l) => l.toFixed(1)).join(", ")} (other work shares the machine)`,
    "",
    "| what | runs | median ms | p95 ms | range ms | note |",
    "|---|---:|---:|---:|---:|---|",
    row("`clubos mode show`, server running", throughSocket, "target: under 1000 ms"),
    row("`clubos --help`", help),
    row("`clubos mode show`, server stopped", direct, "opens the embedded database itself"),
    row("compiled copy rebuilt", rebuilds, "what the first call after a source change adds"),
    row("`clubos serve`, first start", firstStarts, "until it answers HTTP"),
    row("PGlite's own first open", pgliteOpens, "`PGlite.create` of a fresh folder + `SELECT 1`"),
    "",
    `First start ÷ PGlite's first open: ${ratio.toFixed(2)} (ratio of medians); per repeat ` +
      `${paired.map((p) => p.toFixed(2)).join(", ")}. Target: at most 1.5.`,
    ...(Number.isFinite(cpuRatio)
      ? [
          "",
          "CPU time (user + system, all threads) until then, which depends far less on the machine's other " +
            `work: first start median ${f0(median(cpu.firstStarts))} ms, PGlite's first open ` +
            `${f0(median(cpu.pgliteOpens))} ms, ratio ${cpuRatio.toFixed(2)}.`,
        ]
      : []),
  ].join("\n");
  console.log(`\n${section}\n`);
  if (writeResults) {
    const file = path.join(ROOT, "bench", "RESULTS.md");
    appendResults(file, section);
    console.log(`Appended to ${file}`);
  }
} finally {
  if (running) await stop(running.child);
  cleanUp();
}
