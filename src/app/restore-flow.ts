import { randomUUID } from "node:crypto";
import { runAction } from "../core/action.ts";
import { type Actor, actorRef } from "../core/actor.ts";
import { forkAnchors } from "../core/audit-anchors.ts";
import { anchorAuditChain, sealAuditChain } from "../core/audit-chain.ts";
import {
  assertRestorableInto,
  BACKUP_ERRORS,
  type BackupProgress,
  findBackup,
  listBackups,
  type RestoreProgress,
  restoreInto,
  verifyBackup,
  verifyRestoredDatabase,
} from "../core/backup/index.ts";
import { claimJobRun, readJobProgress } from "../core/job-progress.ts";
import { currentFeedTokens } from "../domains/events/events.repository.ts";
import { keepFeedAddressesAfterRestore } from "../domains/events/ical.actions.ts";
import { liveApiTokenIds } from "../domains/identity/identity.repository.ts";
import { endRestoredAccess, type RestoredAccessEnded } from "../domains/identity/restore-access.actions.ts";
import { reconcileOutboxAfterRestore } from "../domains/mail/mail.actions.ts";
import { messagesSentSince } from "../domains/mail/outbox.repository.ts";
import { recordBackupCreated } from "../domains/ops/backups.actions.ts";
import type { IncidentRef } from "../domains/ops/incidents.repository.ts";
import {
  beginRestore,
  failRestore,
  recordRestoreVerified,
  type VerificationStep,
} from "../domains/ops/restore.actions.ts";
import { RESTORE_ERRORS } from "../domains/ops/restore.errors.ts";
import { KEPT_BY_RESTORE } from "../domains/ops/restore.repository.ts";
import { RESTORE_PROGRESS_JOB, type RestoreRunner } from "../domains/ops/restore.runner.ts";
import { revokePreviewLinksAfterRestore } from "../domains/pages/preview.actions.ts";
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
  /** The sessions ended and the links and tokens revoked that came back with the backup. */
  access: RestoredAccessEnded & { previewLinksRevoked: number };
}

/** Restores a backup over this database (REC-1..REC-4): the bundle is verified and its schema checked
 * before anything changes; then maintenance mode, a fresh backup of the current data (so restoring
 * loses nothing), the load in one transaction (the mode, incidents and restores kept), the audit
 * anchors forked at the restored head, and the verification suite on the restored data. Writes stay
 * off afterwards until someone signs off (`clubos resume`). Until the load commits nothing is replaced:
 * any failure before it puts the mode back and says so. Its progress and outcome are kept in job_progress
 * (RESTORE_PROGRESS_JOB), so the restore page of every server shows it, whoever started it. */
export async function restoreInPlace(
  ctx: AppContext,
  actor: Actor,
  input: { id: string; reason: string; from?: string; onProgress?: (event: RestoreFlowProgress) => void },
): Promise<RestoreOutcome> {
  const db = ctx.database.db;
  // One statement claims the restore's progress row, so two servers starting a restore at once cannot
  // both go on; the second is told who holds it, and the running restore's progress stays on the page.
  const record = await claimJobRun(db, {
    job: RESTORE_PROGRESS_JOB,
    runId: `restore:${randomUUID()}`,
    triggeredBy: actorRef(actor),
  });
  if (!record) {
    const [latest] = await readJobProgress(db, [RESTORE_PROGRESS_JOB]);
    throw RESTORE_ERRORS.restore_in_progress(
      `A restore started by ${latest?.triggeredBy ?? "someone else"} is still running ("${latest?.step ?? "started"}"). Wait for it to finish, then try again.`,
    );
  }
  try {
    const outcome = await restoreSteps(ctx, actor, {
      ...input,
      onProgress: (p) => {
        const line = describeRestoreProgress(p);
        if (line) record.note(line);
        input.onProgress?.(p);
      },
    });
    await record.finish(outcome.verified ? "ok" : "failed", describeRestoreOutcome(outcome));
    return outcome;
  } catch (error) {
    await record.finish("failed", error instanceof Error ? error.message : String(error));
    throw error;
  }
}

/** The outcome of a restore in words: the last line of its progress. */
export function describeRestoreOutcome(outcome: RestoreOutcome): string {
  const done = outcome.verified
    ? `Restored and verified backup ${outcome.backupId}. The data it replaced is in backup ${outcome.preRestoreBackupId}. Writes stay off until someone signs off.`
    : `Restored backup ${outcome.backupId}, but verification FAILED: writes stay off. Restore another backup (${outcome.preRestoreBackupId} puts back what was there).`;
  return `${done} ${describeRestoredAccess(outcome.access)}`;
}

/** What the restore withdrew, and what the admin does about it, for the CLI and the restore page. */
export function describeRestoredAccess(access: RestoreOutcome["access"]): string {
  const links =
    access.invitationsRevoked + access.passwordResetsRevoked === 0
      ? "No unused invitation or password-reset link came back with it."
      : `${access.invitationsRevoked} invitation(s) and ${access.passwordResetsRevoked} password-reset link(s) that came back with it were revoked: resend the invitations (\`clubos members invite --id ID\`; the members are listed in the audit entry identity.restored_access_ended), and members who asked for a reset ask again.`;
  const tokens =
    access.apiTokensRevoked === 0
      ? ""
      : ` ${access.apiTokensRevoked} API token(s) revoked since the backup stay revoked.`;
  const previews =
    access.previewLinksRevoked === 0
      ? ""
      : ` ${access.previewLinksRevoked} preview share link(s) were revoked: editors make new ones.`;
  return `Every session was ended (${access.sessionsEnded}): everyone, you included, signs in again. ${links}${tokens}${previews}`;
}

async function restoreSteps(
  ctx: AppContext,
  actor: Actor,
  input: { id: string; reason: string; from?: string; onProgress: (event: RestoreFlowProgress) => void },
): Promise<RestoreOutcome> {
  const { config, database } = ctx;
  const progress = input.onProgress;
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
    await runAction(env, recordBackupCreated, { made: pre, restoreId: begun.restoreId });
  } catch (error) {
    throw await failed(error, null);
  }
  // Read before the load replaces the outbox: what already left must not leave again.
  const sent = await messagesSentSince(database.db, new Date(found.manifest.createdAt));
  // Likewise the credentials that work now: one revoked or replaced since the backup stays so.
  const liveApiTokens = await liveApiTokenIds(database.db);
  const feedTokens = await currentFeedTokens(database.db);
  let restored: { tables: number; rows: number };
  try {
    // readBack: replacing the club's live data is rare and final, so it gets the drill's proof that
    // the rows read back byte for byte (a sixth more time) before the load commits.
    restored = await restoreInto(database, found.dir, key, {
      keep: KEPT_BY_RESTORE,
      readBack: true,
      onProgress: (event) => progress({ step: "load", event }),
    });
  } catch (error) {
    throw await failed(error, preRestoreBackupId);
  }
  // At once after the load: the backup's sessions and unused links must not let anyone in (REC-2).
  const access = await runAction(env, endRestoredAccess, {
    restoreId: begun.restoreId,
    backupId: found.id,
    liveApiTokens,
  });
  const previews = await runAction(env, revokePreviewLinksAfterRestore, { restoreId: begun.restoreId });
  await runAction(env, keepFeedAddressesAfterRestore, { restoreId: begun.restoreId, before: feedTokens });
  await runAction(env, reconcileOutboxAfterRestore, { backupId: found.id, sent });
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
  // Entries the backup held unsealed are sealed now, on the new timeline; and the head is anchored
  // in the new file even when a running server sealed (and anchored in the old file) in between.
  await sealAuditChain(database, config.backupDir);
  await anchorAuditChain(database, config.backupDir);
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
    access: { ...access, previewLinksRevoked: previews.count },
  };
}

/** One line of progress, in words, for the CLI and the restore page. */
export function describeRestoreProgress(p: RestoreFlowProgress): string | null {
  if (p.step === "check") return p.detail;
  if (p.step === "pre-backup") {
    if (p.event.step === "table" && p.event.finished)
      return `pre-restore backup: table ${p.event.table}, ${p.event.rows} rows`;
    return p.event.step === "snapshot" ? `pre-restore backup: ${p.event.tables} tables` : null;
  }
  if (p.step === "load") {
    return p.event.step === "load"
      ? `restoring ${p.event.done}/${p.event.total}: ${p.event.table} (${p.event.rows} rows)`
      : `reconciling ${p.event.done}/${p.event.total}: ${p.event.table}`;
  }
  return `verification: ${p.name} ${p.detail}`;
}

/** The restore page's runner: the restore in the background; restoreInPlace keeps its progress in
 * job_progress for the page. One restore at a time: one running in this process is refused at once, one
 * in another process by restoreInPlace's check, and the database allows only one open restore
 * (restores_one_open). */
export function restoreRunner(ctx: AppContext): RestoreRunner & { settled(): Promise<void> } {
  let running = false;
  let current: Promise<void> = Promise.resolve();
  return {
    backups: () =>
      listBackups(ctx.config.backupDir).map((b) => ({
        id: b.id,
        createdAt: b.createdAt,
        ageSeconds: b.ageSeconds,
        rows: b.rows,
        drill: b.drill.state,
      })),
    async start(actor, input) {
      const busy = () =>
        RESTORE_ERRORS.restore_in_progress(
          "A restore is still running. Wait for it to finish (this page shows how far it is), then try again.",
        );
      if (running) throw busy();
      running = true;
      const [latest] = await readJobProgress(ctx.database.db, [RESTORE_PROGRESS_JOB]).catch(() => []);
      if (latest?.running) {
        running = false;
        throw busy();
      }
      // The outcome, failures included, is in job_progress and the restore's audit entries.
      current = restoreInPlace(ctx, actor, input)
        .then(
          () => {},
          () => {},
        )
        .finally(() => {
          running = false;
          return ctx.modes.refresh().catch(() => {});
        });
    },
    /** Resolves once the restore started here (if any) has ended: closing the server waits for it. */
    settled: () => current,
  };
}
