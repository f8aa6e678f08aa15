import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { readAnchors } from "../audit-anchors.ts";
import type { Database } from "../db/connect.ts";
import { ClubError } from "../errors.ts";
import { type InvariantCheck, runChecks } from "../invariants.ts";
import { CHUNK_BYTES, keyFingerprint } from "./crypto.ts";
import { BACKUP_ERRORS } from "./errors.ts";
import {
  COPIES_FILE,
  FORMAT_VERSION,
  fsyncDir,
  MANIFEST_FILE,
  type Manifest,
  newBackupId,
  partialDir,
  type TableEntry,
  writeJsonDurably,
} from "./format.ts";
import { openSnapshot, type SnapshotTable } from "./snapshot.ts";
import { type Compression, DEFAULT_COMPRESSION, writeTableFile } from "./table-file.ts";
import type { BackupTarget, FileProblem } from "./target.ts";

/** A step of a long backup, for progress lines (CLI) and status (operator page). A callback that throws
 * stops the backup, which is then removed as any failed one is. */
export type BackupProgress =
  | { step: "invariants"; done: number; total: number }
  | { step: "snapshot"; tables: number }
  | { step: "table"; table: string; bytes: number; rows?: number; finished: boolean }
  | { step: "copy"; location: string; ok: boolean };

/** A copy of the bundle on a target, as recorded in copies.json and shown by list. */
export interface CopyRecord {
  kind: string;
  location: string;
  at: string;
  ok: boolean;
  problems: FileProblem[];
}

export interface CreateBackupOptions {
  backupDir: string;
  /** Audit-style reference of who asked, e.g. `operator:alice`. */
  actor: string;
  appVersion: string;
  key: Buffer | null;
  /** The app's invariant checks, run on the snapshot (and recorded in the database) before its tables are read. */
  checks?: InvariantCheck[];
  /** Where the audit anchors are kept (default: the backup folder). */
  anchorsDir?: string;
  targets?: BackupTarget[];
  /** Tables read at once on PostgreSQL. */
  lanes?: number;
  compression?: Compression;
  /** Called at each step; the backup waits for a promise it returns at the "snapshot" step (after
   * which the source database is no longer held), so a caller can act at that point. */
  onProgress?: (event: BackupProgress) => void | Promise<void>;
}

/** What createBackup made. */
export interface CreatedBackup {
  id: string;
  dir: string;
  manifest: Manifest;
  copies: CopyRecord[];
}

const fileName = (table: string, codec: Compression["codec"], encrypted: boolean) =>
  `${table}.copy.${codec === "gzip" ? "gz" : "br"}${encrypted ? ".enc" : ""}`;

/** Takes a consistent backup of every table into `<backupDir>/<id>/`. It is written under a hidden
 * partial name and renamed only when every file and the manifest are on disk; on any failure the
 * partial is removed and nothing is listed. Then copies it to each target and verifies each copy. */
export async function createBackup(database: Database, options: CreateBackupOptions): Promise<CreatedBackup> {
  const started = Date.now();
  const id = newBackupId();
  fs.mkdirSync(options.backupDir, { recursive: true, mode: 0o700 });
  const tmp = partialDir(options.backupDir, id);
  fs.mkdirSync(tmp, { mode: 0o700 });
  const progress = options.onProgress ?? (() => {});
  let manifest: Manifest;
  try {
    const snapshot = await openSnapshot(database, { lanes: options.lanes });
    const entries = new Map<string, TableEntry>();
    try {
      const { info } = snapshot;
      await progress({ step: "snapshot", tables: info.tables.length });
      // The checks read the snapshot, not the live database: the manifest then says whether the data in
      // this bundle holds every invariant, and on PGlite (one connection, in the server's thread) the
      // server's requests do not wait behind the scan's long queries (the audit chain's re-hash).
      let invariants: Manifest["invariants"] = null;
      if (options.checks) {
        const report = await runChecks(database, options.actor, options.checks, {
          readFrom: snapshot.reader,
          onProgress: (done, total) => progress({ step: "invariants", done, total }),
        });
        const failed = report.checks.filter((c) => c.violations > 0 || c.error !== undefined);
        invariants = {
          ok: report.ok,
          runId: report.runId,
          checks: report.checks.length,
          failed: failed.map((c) => ({
            id: c.id,
            violations: c.violations,
            ...(c.error ? { error: c.error } : {}),
          })),
        };
      }
      const queue = [...info.tables];
      const lane = async (n: number) => {
        for (let table = queue.shift(); table; table = queue.shift()) {
          try {
            entries.set(
              table.name,
              await exportTable(snapshot.copyOut(table, n), table, tmp, options, progress),
            );
          } catch (error) {
            queue.length = 0; // the other lanes take no new table
            throw error;
          }
        }
      };
      // Every lane is settled before a failure is thrown: a lane still writing into the partial folder
      // while it is removed below made the removal fail (ENOTEMPTY) and could leave files behind.
      const lanes = await Promise.allSettled(Array.from({ length: snapshot.lanes }, (_, n) => lane(n)));
      const failed = lanes.find((l): l is PromiseRejectedResult => l.status === "rejected");
      if (failed) throw failed.reason;
      const anchors = readAnchors(options.anchorsDir ?? options.backupDir).filter(
        (a) => a.installationId === info.installationId,
      ).length;
      manifest = {
        formatVersion: FORMAT_VERSION,
        id,
        createdAt: new Date(started).toISOString(),
        actor: options.actor,
        appVersion: options.appVersion,
        source: {
          engine: database.kind,
          installationId: info.installationId,
          serverVersion: info.serverVersion,
        },
        schema: { migrations: info.migrations, functions: info.functions },
        compression: options.compression ?? DEFAULT_COMPRESSION,
        encryption: options.key
          ? { cipher: "aes-256-gcm", chunkBytes: CHUNK_BYTES, keyFingerprint: keyFingerprint(options.key) }
          : null,
        tables: info.tables.map((t) => entries.get(t.name)!),
        sequences: info.sequences,
        auditChain: { head: info.chainHead, anchors },
        invariants,
        durationMs: Date.now() - started,
      };
    } finally {
      await snapshot.close();
    }
    writeJsonDurably(path.join(tmp, MANIFEST_FILE), manifest);
    fsyncDir(tmp);
    fs.renameSync(tmp, path.join(options.backupDir, id));
    fsyncDir(options.backupDir);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    if (error instanceof ClubError) throw error;
    throw BACKUP_ERRORS.backup_failed(
      `The backup failed and was not kept: ${(error as Error).message}. Nothing was changed; fix the cause and run it again.`,
    );
  }
  const dir = path.join(options.backupDir, id);
  const copies: CopyRecord[] = [];
  for (const target of options.targets ?? []) {
    copies.push(await copyToTarget(dir, manifest, target));
    progress({ step: "copy", location: target.location, ok: copies.at(-1)!.ok });
  }
  return { id, dir, manifest, copies };
}

async function exportTable(
  source: Promise<Readable>,
  table: SnapshotTable,
  dir: string,
  options: CreateBackupOptions,
  progress: (event: BackupProgress) => void | Promise<void>,
): Promise<TableEntry> {
  const compression = options.compression ?? DEFAULT_COMPRESSION;
  const file = fileName(table.name, compression.codec, options.key !== null);
  const written = await writeTableFile(await source, path.join(dir, file), {
    key: options.key,
    compression,
    onBytes: (bytes) => progress({ step: "table", table: table.name, bytes, finished: false }),
  });
  progress({
    step: "table",
    table: table.name,
    bytes: written.plaintextBytes,
    rows: written.rows,
    finished: true,
  });
  return {
    name: table.name,
    columns: table.columns,
    orderBy: table.orderBy,
    rows: written.rows,
    plaintextSha256: written.plaintextSha256,
    plaintextBytes: written.plaintextBytes,
    file,
    storedSha256: written.storedSha256,
    storedBytes: written.storedBytes,
  };
}

/** The copies recorded for a bundle. */
export function readCopies(bundleDir: string): CopyRecord[] {
  try {
    return JSON.parse(fs.readFileSync(path.join(bundleDir, COPIES_FILE), "utf8")) as CopyRecord[];
  } catch {
    return [];
  }
}

/** Copies a complete bundle to a target, verifies the copy, and records the outcome in the bundle. */
export async function copyToTarget(
  bundleDir: string,
  manifest: Manifest,
  target: BackupTarget,
): Promise<CopyRecord> {
  let problems: FileProblem[];
  try {
    await target.put(bundleDir, manifest);
    problems = await target.verify(manifest.id, manifest);
  } catch (error) {
    problems = [{ file: "", message: `The copy to ${target.location} failed: ${(error as Error).message}` }];
  }
  const record: CopyRecord = {
    kind: target.kind,
    location: target.location,
    at: new Date().toISOString(),
    ok: problems.length === 0,
    problems,
  };
  const copies = readCopies(bundleDir).filter((c) => c.location !== target.location);
  writeJsonDurably(path.join(bundleDir, COPIES_FILE), [...copies, record]);
  return record;
}
