import { readForks } from "../core/audit-anchors.ts";
import type { RecordedHead } from "../core/audit-chain.ts";
import {
  type BackupListing,
  type BackupProgress,
  type BackupTarget,
  type CreatedBackup,
  createBackup,
  type DrillResult,
  type DrillScratch,
  drillBackup,
  FolderTarget,
  findBackup,
  listBackups,
  loadBackupKey,
  type Manifest,
} from "../core/backup/index.ts";
import { S3Target } from "../core/backup/s3-target.ts";
import type { Database } from "../core/db/connect.ts";
import { listVisibleEventSummaries } from "../domains/events/events.repository.ts";
import { listMembers } from "../domains/members/members.repository.ts";
import { packageVersion } from "./build-info.ts";
import type { Config } from "./config.ts";
import { allInvariantChecks } from "./invariants.ts";

/* What the backup mechanism (src/core/backup) needs from the app: the key and copy targets from the
 * configuration, where a drill restores, and a read through the application's own repositories. */

/** The backup key, or null when none is configured (bundles are then written unencrypted). */
export function backupKey(config: Config): Buffer | null {
  return loadBackupKey({
    key: config.backupKey,
    keyFile: config.backupKeyFile,
    dataDir: config.dataDir,
    backupDir: config.backupDir,
    copyDir: config.backupCopyDir,
  });
}

/** The warning to show (CLI, operator page, `clubos status`) when backups are not encrypted; null when
 * a key is configured. */
export function backupKeyWarning(config: Config): string | null {
  if (config.backupKey || config.backupKeyFile) return null;
  return (
    "Backups are NOT encrypted: anyone who gets a copy of the backup folder can read the member list. " +
    "Make a key with `clubos backup key create`, keep it off this machine, and set CLUBOS_BACKUP_KEY_FILE."
  );
}

/** Where each new backup is copied (and verified) besides the backup folder. */
export function backupTargets(config: Config): BackupTarget[] {
  return [
    ...(config.backupCopyDir ? [new FolderTarget(config.backupCopyDir)] : []),
    ...(config.backupS3 ? [new S3Target(config.backupS3)] : []),
  ];
}

/** A drill restores into a scratch database on the configured server, else into an in-memory PGlite. */
export function drillScratch(config: Config): DrillScratch {
  return config.databaseUrl ? { kind: "postgres", serverUrl: config.databaseUrl } : { kind: "pglite" };
}

const rowsIn = (manifest: Manifest, table: string) =>
  manifest.tables.find((t) => t.name === table)?.rows ?? 0;

/** The drill's read of sample rows through the members and events repositories: what the admin list and
 * the public event list would show. Fails when the backup has rows the application cannot read. */
export async function sampleRead(database: Database, manifest: Manifest): Promise<string> {
  const members = await listMembers(database.db, { sort: "name", limit: 20 });
  const deleted = await listMembers(database.db, { sort: "name", limit: 20, deleted: true });
  if (rowsIn(manifest, "members") > 0 && members.length + deleted.length === 0) {
    throw new Error("The backup holds members, but the member list reads none.");
  }
  const events = await listVisibleEventSummaries(database.db, true);
  return `read ${members.length} members (of ${rowsIn(manifest, "members")}) and ${events.length} visible events (of ${rowsIn(manifest, "events")}) through the repositories`;
}

/** The audit chain heads this installation's backups recorded, in the backup folder and in the copy
 * folder: `clubos audit verify` checks each, so cutting the anchor file short or rewriting the chain
 * shows even when the attacker also rewrote the anchors in one of the two places (G04). */
export function recordedHeadsOfBackups(config: Config, installation: string): RecordedHead[] {
  const folders = [config.backupDir, ...(config.backupCopyDir ? [config.backupCopyDir] : [])];
  const forks = readForks(config.backupDir).filter((f) => f.installationId === installation);
  // A restore in place left the timeline those backups recorded beyond the restored head.
  const superseded = (b: BackupListing) =>
    forks.some((f) => b.manifest.createdAt < f.at && b.manifest.auditChain.head!.seq > f.seq);
  return folders.flatMap((folder) =>
    listBackups(folder)
      .filter((b) => b.manifest.source.installationId === installation && b.manifest.auditChain.head)
      .filter((b) => !superseded(b))
      .map((b) => ({
        source: `backup ${b.id} in ${folder}`,
        seq: b.manifest.auditChain.head!.seq,
        hash: b.manifest.auditChain.head!.chainHash,
        anchorCount: b.manifest.auditChain.anchors,
      })),
  );
}

/** Takes a backup as this configuration says (folder, key, copy targets, the invariant scan of the snapshot): the
 * one way both `clubos backup create` and the scheduled job take one. */
export function takeBackup(
  config: Config,
  database: Database,
  actor: string,
  onProgress?: (event: BackupProgress) => void,
): Promise<CreatedBackup> {
  return createBackup(database, {
    backupDir: config.backupDir,
    actor,
    appVersion: packageVersion(),
    key: backupKey(config),
    checks: allInvariantChecks(),
    targets: backupTargets(config),
    onProgress,
  });
}

/** Drills a backup (the newest by default) as this configuration says: scratch database, key, every
 * invariant check, the sample read, and the anchors the server writes. The one way the CLI and the
 * scheduled drill do it; `from` reads the backup from another folder than the configured one, and a
 * caller that listed the folder already passes the `backup` it chose instead. */
export function drillOf(
  config: Config,
  actor: string,
  options: {
    id?: string;
    from?: string;
    backup?: BackupListing;
    onProgress?: (step: string, detail: string) => void;
  } = {},
): Promise<DrillResult> {
  const found = options.backup ?? findBackup(options.from ?? config.backupDir, options.id);
  return drillBackup(found.dir, {
    scratch: drillScratch(config),
    key: backupKey(config),
    actor,
    checks: allInvariantChecks(),
    sampleRead,
    anchorsDir: config.backupDir,
    onProgress: options.onProgress,
  });
}
