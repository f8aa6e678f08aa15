/* `npm run bench:scan`: the invariant scan and the restore drill on the issue's benchmark club on
 * PostgreSQL (100,000 members, 20,000 events with registrations, 1,000,000 audit entries, all sealed into
 * the hash chain). Targets: every invariant check in under 10 s together; a drill (verify, restore into
 * a scratch database, the verification suite) in under 2 minutes. BENCH_SCALE=0.05 checks that it runs.
 * Two scans: the full one (`clubos invariants check`, drills: every audit entry re-hashed), which
 * records a checkpoint, then BENCH_NEW_ENTRIES (10,000: a busy hour) more sealed entries and the
 * scheduled scan, which re-hashes only those (ops.audit_chain incremental). Both in the same run. */

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { sampleRead } from "../src/app/backup-env.ts";
import { allInvariantChecks } from "../src/app/invariants.ts";
import { sealAuditChain } from "../src/core/audit-chain.ts";
import { createBackup, drillBackup } from "../src/core/backup/index.ts";
import { connectPostgres } from "../src/core/db/connect.ts";
import { migrate } from "../src/core/db/migrate.ts";
import { runChecks } from "../src/core/invariants.ts";
import { bigClubSize, seedBigClub } from "./lib/big-club.ts";
import { createBenchDatabase } from "./lib/harness.ts";

const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const size = bigClubSize();
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const newEntries = Number(process.env.BENCH_NEW_ENTRIES || 10_000);

type PerCheck = Array<{ id: string; ms: number; violations: number; note?: string }>;

async function timedScan(db: ReturnType<typeof connectPostgres>, chain: "full" | "scheduled") {
  const perCheck: PerCheck = [];
  const t = performance.now();
  // Each check's own time (checks run beside each other, SCAN_CONNECTIONS at a time).
  const report = await runChecks(db, "system:bench", allInvariantChecks({ chain }), {
    onProgress: (_done, _total, check) => {
      perCheck.push({ id: check.id, ms: check.ms, violations: check.violations, note: check.note });
    },
  });
  return { ms: performance.now() - t, report, perCheck };
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-scan-"));
  const source = await createBenchDatabase(serverUrl);
  const db = connectPostgres(source.url, 4);
  try {
    await migrate(db);
    console.log(`seeding ${size.members} members, ${size.events} events, ${size.audit} audit entries...`);
    await seedBigClub(source.url, size);
    let t = performance.now();
    let sealed = 0;
    for (let n = 1; n > 0; sealed += n) n = await sealAuditChain(db, work);
    const sealMs = performance.now() - t;
    console.log(`sealed ${sealed} entries into the chain in ${seconds(sealMs)} s`);

    const checks = allInvariantChecks();
    const full = await timedScan(db, "full");
    await sql`INSERT INTO audit_log (actor_type, actor_id, action, subject_type, subject_id, after)
      SELECT 'system', 'system:bench', 'member.updated', 'member', md5(i::text),
             jsonb_build_object('name', 'Bench Member ' || i, 'n', i)
      FROM generate_series(1, ${newEntries}::int) i`.execute(db.db);
    for (let n = 1; n > 0; ) n = await sealAuditChain(db, work);
    const scheduled = await timedScan(db, "scheduled");
    const chainNote = scheduled.perCheck.find((c) => c.id === "ops.audit_chain")?.note ?? "(no note: FULL)";

    const key = randomBytes(32);
    const backup = await createBackup(db, {
      backupDir: work,
      actor: "system:bench",
      appVersion: "bench",
      key,
    });
    t = performance.now();
    const drill = await drillBackup(backup.dir, {
      scratch: { kind: "postgres", serverUrl: source.url },
      key,
      actor: "system:bench",
      checks,
      sampleRead,
      anchorsDir: work,
    });
    const drillMs = performance.now() - t;

    console.log(
      `\nbench:scan, scale ${size.scale}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"})`,
    );
    console.log(`| | seconds | target |`);
    console.log(`|---|---:|---:|`);
    const state = (r: { ok: boolean }) => (r.ok ? "clean" : "VIOLATIONS");
    console.log(
      `| invariant scan, full (on demand, drills), ${checks.length} checks (${state(full.report)}) | ${seconds(full.ms)} | < 10 |`,
    );
    console.log(
      `| invariant scan, scheduled, after ${newEntries} new entries (${state(scheduled.report)}) | ${seconds(scheduled.ms)} | < 10 |`,
    );
    console.log(`| drill (${drill.ok ? "passed" : "FAILED"}) | ${seconds(drillMs)} | < 120 |`);
    for (const [name, scan] of [
      ["full", full],
      ["scheduled", scheduled],
    ] as const) {
      console.log(`\nslowest checks, ${name} scan:`);
      for (const c of [...scan.perCheck].sort((a, b) => b.ms - a.ms).slice(0, 6))
        console.log(`  ${c.id}: ${seconds(c.ms)} s${c.violations ? ` (${c.violations} violations)` : ""}`);
    }
    console.log(`scheduled ops.audit_chain: ${chainNote}`);
    console.log(
      `drill steps: ${drill.steps.map((s) => `${s.name} ${s.ok ? "ok" : `FAILED (${s.detail})`}`).join(", ")}`,
    );
  } finally {
    await db.close();
    await source.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
