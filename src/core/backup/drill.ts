import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { anchorFile, readAnchors } from "../audit-anchors.ts";
import { verifyAuditChain } from "../audit-chain.ts";
import { connectPgliteMemory, connectPostgres, type Database } from "../db/connect.ts";
import { migrate } from "../db/migrate.ts";
import { type InvariantCheck, runChecks } from "../invariants.ts";
import { DRILL_FILE, type Manifest, readManifest, writeJsonDurably } from "./format.ts";
import { restoreInto } from "./restore.ts";
import { verifyBackup } from "./verify.ts";

/** One step of the restore verification suite and what it found. */
export interface DrillStep {
  name: "verify" | "restore" | "invariants" | "audit_chain" | "sample_read";
  ok: boolean;
  detail: string;
}

/** The outcome of a drill, kept in the bundle's drill.json. A bundle is trusted only after one passed. */
export interface DrillResult {
  id: string;
  at: string;
  actor: string;
  ok: boolean;
  scratch: "pglite" | "postgres";
  steps: DrillStep[];
  durationMs: number;
}

/** Where a drill restores: an in-memory PGlite, or a scratch database made on a PostgreSQL server
 * (the URL names any database the user can connect to and create databases from). */
export type DrillScratch = { kind: "pglite" } | { kind: "postgres"; serverUrl: string };

export interface DrillOptions {
  scratch: DrillScratch;
  key: Buffer | null;
  actor: string;
  checks: InvariantCheck[];
  /** A read of sample rows through the application's own repositories; returns what it read, e.g.
   * "12 members, 3 events". Throwing fails the drill. */
  sampleRead(database: Database, manifest: Manifest): Promise<string>;
  /** The folder holding the audit anchors (usually the backup folder). */
  anchorsDir: string;
  onProgress?: (step: DrillStep["name"], detail: string) => void;
}

async function openScratch(scratch: DrillScratch): Promise<{ database: Database; drop(): Promise<void> }> {
  if (scratch.kind === "pglite") {
    const database = await connectPgliteMemory();
    return { database, drop: () => database.close() };
  }
  const name = `clubos_drill_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: scratch.serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
  const url = new URL(scratch.serverUrl);
  url.pathname = `/${name}`;
  const database = connectPostgres(url.toString(), 2);
  return {
    database,
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: scratch.serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => c.end());
    },
  };
}

/** The anchors up to the backup's chain head, in a folder of their own: later anchors name entries the
 * backup cannot have, and are not its problem. */
function anchorsUpTo(anchorsDir: string, installationId: string | null, headSeq: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-drill-anchors-"));
  const lines = readAnchors(anchorsDir)
    .filter((a) => a.installationId === installationId && a.seq <= headSeq)
    .map((a) => JSON.stringify(a));
  fs.writeFileSync(anchorFile(dir), lines.length ? `${lines.join("\n")}\n` : "", { mode: 0o600 });
  return dir;
}

/** Restores the bundle into a throwaway database and runs the restore verification suite: the files
 * against the manifest, the restore with its reconciliation of counts and checksums, every invariant
 * check, the audit chain up to the manifest's head and against the anchors, and a read of sample rows
 * through the application. Records the result in drill.json and drops the scratch database. */
export async function drillBackup(bundleDir: string, options: DrillOptions): Promise<DrillResult> {
  const started = Date.now();
  const manifest = readManifest(bundleDir);
  const steps: DrillStep[] = [];
  // Nothing to check in a database the backup could not be restored into; after that, every check
  // runs, so one drill reports every problem.
  const step = stepRunner(steps, options.onProgress, () =>
    steps.some((s) => !s.ok && (s.name === "verify" || s.name === "restore")),
  );
  await step("verify", async () => {
    const verified = await verifyBackup(bundleDir, options.key);
    return verified.ok
      ? { ok: true, detail: `${verified.tables} files, ${verified.rows} rows match the manifest` }
      : { ok: false, detail: verified.problems.map((p) => p.message).join(" ") };
  });
  let scratch: Awaited<ReturnType<typeof openScratch>> | null = null;
  try {
    await step("restore", async () => {
      scratch = await openScratch(options.scratch);
      await migrate(scratch.database);
      // readBack: a drill proves the restored rows also export byte for byte as the manifest says.
      const restored = await restoreInto(scratch.database, bundleDir, options.key, { readBack: true });
      return {
        ok: true,
        detail: `${restored.tables} tables, ${restored.rows} rows reconciled with the manifest`,
      };
    });
    if (scratch)
      await checkRestored((scratch as { database: Database }).database, manifest, options, step, {
        exactEnd: true,
      });
  } finally {
    if (scratch) await (scratch as { drop(): Promise<void> }).drop().catch(() => {});
  }
  const result: DrillResult = {
    id: manifest.id,
    at: new Date().toISOString(),
    actor: options.actor,
    ok: steps.length === 5 && steps.every((s) => s.ok),
    scratch: options.scratch.kind,
    steps,
    durationMs: Date.now() - started,
  };
  writeJsonDurably(path.join(bundleDir, DRILL_FILE), result);
  return result;
}

/** What a restored database must pass, after a drill's restore into a scratch database and after a
 * restore in place alike: every invariant check, the audit chain up to the manifest's head and against
 * the anchors written up to it, and a read of sample rows through the application. */
export type RestoredCheckOptions = Pick<DrillOptions, "actor" | "checks" | "sampleRead" | "anchorsDir">;

type StepRunner = (
  name: DrillStep["name"],
  body: () => Promise<{ ok: boolean; detail: string }>,
) => Promise<void>;

/** Runs one step at a time into `steps`: a step that throws is a failed step, never a skipped one. */
function stepRunner(
  steps: DrillStep[],
  onProgress: DrillOptions["onProgress"],
  skip: () => boolean = () => false,
): StepRunner {
  return async (name, body) => {
    if (skip()) return;
    onProgress?.(name, "started");
    let outcome: { ok: boolean; detail: string };
    try {
      outcome = await body();
    } catch (error) {
      outcome = { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
    steps.push({ name, ...outcome });
    onProgress?.(name, outcome.ok ? `ok: ${outcome.detail}` : `FAILED: ${outcome.detail}`);
  };
}

async function checkRestored(
  database: Database,
  manifest: Manifest,
  options: RestoredCheckOptions,
  step: StepRunner,
  // A scratch database holds nothing after the backup's head; a database restored in place may
  // already have new entries (a sign-in), so there the chain must hold the head, not end at it.
  { exactEnd }: { exactEnd: boolean },
): Promise<void> {
  await step("invariants", async () => {
    const report = await runChecks(database, options.actor, options.checks);
    const failed = report.checks.filter((c) => c.violations > 0 || c.error !== undefined);
    return failed.length === 0
      ? { ok: true, detail: `${report.checks.length} checks passed` }
      : {
          ok: false,
          detail: failed
            .map((c) => `${c.id}: ${c.error ? `could not run (${c.error})` : `${c.violations} violation(s)`}`)
            .join("; "),
        };
  });
  await step("audit_chain", async () => {
    const head = manifest.auditChain.head;
    const dir = anchorsUpTo(options.anchorsDir, manifest.source.installationId, head?.seq ?? 0);
    try {
      const report = await verifyAuditChain(database, dir, {
        chainEnd: head?.seq ?? 0,
        recordedHeads: head ? [{ source: `backup ${manifest.id}`, seq: head.seq, hash: head.chainHash }] : [],
      });
      const problems = report.problems.map((p) => p.message);
      const restoredHead = report.sealed > 0 ? await lastSeal(database) : null;
      if (exactEnd && JSON.stringify(restoredHead) !== JSON.stringify(head)) {
        problems.push(
          `The restored chain ends at ${JSON.stringify(restoredHead)}, the manifest at ${JSON.stringify(head)}.`,
        );
      }
      return problems.length === 0
        ? {
            ok: true,
            detail: `${report.sealed} sealed entries up to ${head?.seq ?? 0}, ${report.anchorsChecked} anchors`,
          }
        : { ok: false, detail: problems.join(" ") };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await step("sample_read", async () => ({
    ok: true,
    detail: await options.sampleRead(database, manifest),
  }));
}

/** Runs the checks of a database restored in place (RestoredCheckOptions) and returns each step's
 * outcome. */
export async function verifyRestoredDatabase(
  database: Database,
  manifest: Manifest,
  options: RestoredCheckOptions & { onProgress?: DrillOptions["onProgress"] },
): Promise<DrillStep[]> {
  const steps: DrillStep[] = [];
  await checkRestored(database, manifest, options, stepRunner(steps, options.onProgress), {
    exactEnd: false,
  });
  return steps;
}

async function lastSeal(database: Database): Promise<{ seq: number; chainHash: string } | null> {
  const { chainHead } = await import("../audit-chain.ts");
  return chainHead(database);
}
