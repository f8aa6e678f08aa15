/* bench:backup's embedded case (BENCH_EMBEDDED=1): the benchmark club in an embedded (PGlite) data
 * folder served by `clubos serve`, a backup taken through the CLI (which runs it inside the server, over
 * the control socket, as an operator's `clubos backup create` does), and the public events page's
 * latency under load from autocannon: first without a backup, then while one runs, in the same run. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/app/config.ts";
import { openRuntime } from "../../src/app/runtime.ts";
import { sealAuditChain } from "../../src/core/audit-chain.ts";
import { isBackupId } from "../../src/core/backup/format.ts";
import { type ClubSize, seedBigClubWith } from "./big-club.ts";
import { settled } from "./cpu-time.ts";
import { startClubos } from "./servers.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Load {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  /** Errors, timeouts included. */
  errors: number;
  timeouts: number;
}

/** autocannon in its own process (bench/lib/autocannon-run.mjs) for durationMs, or until stop(). */
function autocannon(
  url: string,
  connections: number,
  durationMs: number,
  warmupMs = 0,
): Promise<Load> & { stop(): void } {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("./autocannon-run.mjs", import.meta.url)),
      JSON.stringify({ url, headers: {}, connections, warmupMs, durationMs }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const result = new Promise<Load>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code) return reject(new Error(`autocannon exited with ${code}`));
      const line = out.split("\n").find((l) => l.startsWith("{"));
      line ? resolve(JSON.parse(line)) : reject(new Error(`no autocannon result: ${out}`));
    });
  });
  return Object.assign(result, { stop: () => child.kill("SIGTERM") });
}

/** `clubos backup create` as an operator runs it against the running server; resolves with its time. */
function cliBackup(env: Record<string, string>): Promise<number> {
  const t = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "src/app/main.ts"), "backup", "create", "--actor", "bench"],
    { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (c) => {
    out += c;
  });
  child.stderr.on("data", (c) => {
    out += c;
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) =>
      code === 0
        ? resolve(performance.now() - t)
        : reject(new Error(`backup create exited ${code}:\n${out}`)),
    );
  });
}

export interface EmbeddedResult {
  size: ClubSize;
  seedMs: number;
  sealMs: number;
  settleMs: number;
  backupAloneMs: number;
  backupUnderLoadMs: number;
  bundleBytes: number;
  baseline: Load;
  during: Load;
  connections: number;
  page: string;
}

/** Seeds an embedded club of `size`, serves it, and measures as described above. */
export async function measureEmbeddedBackup(size: ClubSize, connections = 8): Promise<EmbeddedResult> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-embedded-"));
  const env = {
    CLUBOS_DATA_DIR: path.join(root, "data"),
    CLUBOS_BACKUP_DIR: path.join(root, "backups"),
    CLUBOS_BACKUP_KEY: Buffer.alloc(32, 7).toString("base64"),
  };
  try {
    const runtime = await openRuntime(loadConfig({ ...env, LOG_LEVEL: "warn" }), { migrations: "apply" });
    const t = performance.now();
    const database = runtime.database;
    if (database.kind !== "pglite") throw new Error("the embedded case needs the embedded database");
    await seedBigClubWith((text, params) => database.pglite.query(text, params), size);
    const seedMs = performance.now() - t;
    // Sealed (and anchored) before the server starts: its sealer would otherwise still be chaining the
    // seeded entries, on the same one connection, while the backups are measured.
    const s = performance.now();
    for (let n = 1; n > 0; ) n = await sealAuditChain(database, runtime.config.backupDir);
    const sealMs = performance.now() - s;
    await runtime.close();

    const server = await startClubos(env);
    try {
      const page = `${server.url}/events`;
      const settleMs = await settled(server.pid);
      const backupAloneMs = await cliBackup(env);
      const window = Math.max(5_000, Math.round(backupAloneMs));
      const baseline = await autocannon(page, connections, window, 2_000);
      // The load runs exactly as long as the backup: started first, stopped when the backup ends.
      const load = autocannon(page, connections, 30 * 60_000);
      const backupUnderLoadMs = await cliBackup(env).finally(() => load.stop());
      const during = await load;
      const bundles = fs
        .readdirSync(env.CLUBOS_BACKUP_DIR)
        .filter(isBackupId)
        .map((d) => path.join(env.CLUBOS_BACKUP_DIR, d));
      const newest = bundles.sort().at(-1)!;
      const bundleBytes = fs
        .readdirSync(newest)
        .reduce((n, f) => n + fs.statSync(path.join(newest, f)).size, 0);
      return {
        size,
        seedMs,
        sealMs,
        settleMs,
        backupAloneMs,
        backupUnderLoadMs,
        bundleBytes,
        baseline,
        during,
        connections,
        page: "/events",
      };
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
