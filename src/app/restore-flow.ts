import { runAction } from "../core/action.ts";
import { type Actor, actorRef } from "../core/actor.ts";
import { forkAnchors } from "../core/audit-anchors.ts";
import { sealAuditChain } from "../core/audit-chain.ts";
import {
  assertRestorableInto,
  BACKUP_ERRORS,
  type BackupProgress,
  findBackup,
  type RestoreProgress,
  restoreInto,
  verifyBackup,
  verifyRestoredDatabase,
} from "../core/backup/index.ts";
import { recordBackupCreated } from "../domains/ops/backups.actions.ts";
import type { IncidentRef } from "../domains/ops/incidents.repository.ts";
import {
  beginRestore,
  failRestore,
  recordRestoreVerified,
  type VerificationStep,
} from "../domains/ops/restore.actions.ts";
import { KEPT_BY_RESTORE } from "../domains/ops/restore.repository.ts";
import { backupKey, sampleRead, takeBackup } from "./backup-env.ts";
import type { AppContext } from "./context.ts";
import { allInvariantChecks } from "./invariants.ts";

/** A line of progress from a restore, for the CLI and the operator page. */
export type RestoreFlowProgress =
  | { step: "check"; detail: string }
  | { step: "pre-backup"; event: BackupProgress }
  | { step: "load"; event: RestoreProgress }
  | { step: "verify"; name: string; detail: string };

export interface RestoreOutcome {
  restoreId: string;
  backupId: string;
  preRestoreBackupId: string;
  incident: IncidentRef;
  verified: boolean;
  steps: VerificationStep[];
  tables: number;
  rows: number;
}

/** Restores a backup over this database (REC-1..REC-4): the bundle is verified and its schema checked
 * before anything changes; then maintenance mode, a fresh backup of the current data (so restoring
 * loses nothing), the load in one transaction (the mode, incidents and restores kept), the audit
 * anchors forked at the restored head, and the verification suite on the restored data. Writes stay
 * off afterwards until someone signs off (`clubos resume`). Until the load commits nothing is replaced:
 * any failure before it puts the mode back and says so. */
export async function restoreInPlace(
  ctx: AppContext,
  actor: Actor,
  input: { id: string; reason: string; from?: string; onProgress?: (event: RestoreFlowProgress) => void },
): Promise<RestoreOutcome> {
  const { config, database } = ctx;
  const progress = input.onProgress ?? (() => {});
  const folder = input.from ?? config.backupDir;
  const found = findBackup(folder, input.id);
  const key = backupKey(config);
  progress({ step: "check", detail: `verifying backup ${found.id}` });
  const verified = await verifyBackup(found.dir, key);
  if (!verified.ok) {
    throw BACKUP_ERRORS.backup_damaged(
      `Backup ${found.id} does not verify, so it was not restored and nothing was changed: ${verified.problems.map((p) => p.message).join(" ")}`,
    );
  }
  await assertRestorableInto(database, found.manifest);
  const env = ctx.actionEnv(actor);
  const begun = await runAction(env, beginRestore, { backupId: found.id, reason: input.reason });
  const failed = async (error: unknown, preRestoreBackupId: string | null) => {
    const failure = error instanceof Error ? error.message : String(error);
    await runAction(env, failRestore, { restoreId: begun.restoreId, failure, preRestoreBackupId });
    return error;
  };
  let preRestoreBackupId: string;
  try {
    const pre = await takeBackup(config, database, actorRef(actor), (event) =>
      progress({ step: "pre-backup", event }),
    );
    preRestoreBackupId = pre.id;
    await runAction(env, recordBackupCreated, {
      id: pre.id,
      ok: true,
      summary: {
        preRestore: true,
        restoreId: begun.restoreId,
        chainHead: pre.manifest.auditChain.head?.seq ?? null,
      },
    });
  } catch (error) {
    throw await failed(error, null);
  }
  let restored: { tables: number; rows: number };
  try {
    restored = await restoreInto(database, found.dir, key, {
      keep: KEPT_BY_RESTORE,
      onProgress: (event) => progress({ step: "load", event }),
    });
  } catch (error) {
    throw await failed(error, preRestoreBackupId);
  }
  const chainSeq = found.manifest.auditChain.head?.seq ?? 0;
  if (found.manifest.source.installationId) {
    await forkAnchors(config.backupDir, folder, {
      installationId: found.manifest.source.installationId,
      seq: chainSeq,
      at: new Date().toISOString(),
      restoreId: begun.restoreId,
      backupId: found.id,
    });
  }
  // Entries the backup held unsealed are sealed now, on the new timeline, with their anchor.
  await sealAuditChain(database, config.backupDir);
  const steps = await verifyRestoredDatabase(database, found.manifest, {
    actor: actorRef(actor),
    checks: allInvariantChecks(),
    sampleRead,
    anchorsDir: config.backupDir,
    onProgress: (name, detail) => progress({ step: "verify", name, detail }),
  });
  const recorded = await runAction(env, recordRestoreVerified, {
    restoreId: begun.restoreId,
    preRestoreBackupId,
    chainSeq,
    tables: restored.tables,
    rows: restored.rows,
    steps,
  });
  return {
    restoreId: begun.restoreId,
    backupId: found.id,
    preRestoreBackupId,
    incident: begun.incident,
    verified: recorded.ok,
    steps,
    tables: restored.tables,
    rows: restored.rows,
  };
}
