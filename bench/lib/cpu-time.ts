/* CPU time used by the processes under test, from /proc (Linux): on a machine shared with other work,
 * CPU time per request moves far less with the neighbours' load than requests per second do. */
import fs from "node:fs";
import { sql } from "kysely";
import type { Database } from "../../src/core/db/connect.ts";

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** User plus system CPU milliseconds of one process so far; NaN where /proc cannot tell. */
export function processCpuMs(pid: number, thread?: number): number {
  try {
    const stat = fs.readFileSync(thread ? `/proc/${pid}/task/${thread}/stat` : `/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU milliseconds so far of a server process and, when given, of every PostgreSQL backend serving
 * its database (the pool's connections), keyed so two snapshots can be subtracted. */
export async function cpuSnapshot(pid: number, database?: Database): Promise<Map<string, number>> {
  // The main thread (its thread id is the process id) apart: the rest is V8's helpers (the collector's
  // parallel and concurrent work), libuv's pool and any worker threads.
  const snapshot = new Map([
    ["server", processCpuMs(pid)],
    ["main", processCpuMs(pid, pid)],
  ]);
  if (database) {
    const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`.execute(
      database.db,
    );
    for (const row of rows) snapshot.set(`pg:${row.pid}`, processCpuMs(row.pid));
  }
  return snapshot;
}

/** CPU milliseconds between two snapshots: the server's, and the database backends' (a backend that
 * opened in between counts from its start). */
export function cpuBetween(before: Map<string, number>, after: Map<string, number>) {
  let database = 0;
  for (const [key, ms] of after) {
    if (key.startsWith("pg:") && Number.isFinite(ms)) database += ms - (before.get(key) ?? 0);
  }
  return {
    server: after.get("server")! - before.get("server")!,
    main: after.get("main")! - before.get("main")!,
    database,
  };
}

/** Waits until a server has been idle (under a tenth of a core) for two seconds in a row, and gives how
 * long that took: its first scheduler tick, a few seconds after the start, runs every job once (the
 * invariant scan, a backup, a restore drill of it, the leak audit...), and on PGlite those share the one
 * connection with the requests being measured. */
export async function settled(pid: number): Promise<number> {
  const t = performance.now();
  await new Promise((r) => setTimeout(r, 8_000));
  for (let quiet = 0; quiet < 2; ) {
    const before = processCpuMs(pid);
    await new Promise((r) => setTimeout(r, 1_000));
    quiet = processCpuMs(pid) - before < 100 ? quiet + 1 : 0;
  }
  return performance.now() - t;
}
