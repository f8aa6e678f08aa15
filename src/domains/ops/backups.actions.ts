import { defineAction } from "../../core/action.ts";
import { clearAlert, raiseAlert } from "../../core/alerts.ts";
import { type CreatedBackup, isGoodBackup } from "../../core/backup/index.ts";
import { invalidInput } from "../../core/errors.ts";
import { readJobProgress } from "../../core/job-progress.ts";
import { BACKUPS_ERRORS } from "./backups.errors.ts";
import { BACKUP_JOBS, type BackupJobName } from "./backups.schemas.ts";

/* The audit trail of backups (B-2, B-3). The work itself (minutes of COPY, files on disk) happens
 * outside any transaction; each of these records its outcome as one audited action. Creating, verifying
 * and drilling are recovery actions: they change no club data, and they must work in read-only and
 * maintenance mode, which is exactly when a backup matters most. Deleting one is an admin change. */

type Summary = Record<string, unknown>;

const record = (name: string, auditAction: string) =>
  defineAction({
    name,
    access: { capability: "system:operate" },
    effect: "recovery",
    async run(_scope, input: { id: string; ok: boolean; summary: Summary }) {
      return {
        result: { id: input.id, ok: input.ok },
        audit: {
          action: auditAction,
          subjectType: "backup",
          subjectId: input.id,
          after: { ok: input.ok, ...input.summary },
        },
      };
    },
  });

/** One attempt to take a backup as recordBackupCreated records it: ok only for a good backup
 * (isGoodBackup), else what went wrong in words. */
function backupAttempt(
  made: CreatedBackup | undefined,
  error: unknown,
  extra: Summary = {},
): { id: string; ok: boolean; failure: string | null; summary: Summary } {
  if (!made) {
    const failure = error instanceof Error ? error.message : String(error ?? "the backup was not taken");
    return { id: "failed", ok: false, failure, summary: { error: failure, ...extra } };
  }
  const bad = made.copies.filter((c) => !c.ok);
  const failure = isGoodBackup(made)
    ? null
    : `the copy to ${bad.map((c) => c.location).join(", ")} failed verification`;
  const summary: Summary = {
    tables: made.manifest.tables.length,
    rows: made.manifest.tables.reduce((n, t) => n + t.rows, 0),
    encrypted: made.manifest.encryption !== null,
    chainHead: made.manifest.auditChain.head?.seq ?? null,
    copies: made.copies.map((c) => ({ location: c.location, ok: c.ok })),
    ...(failure ? { error: failure } : {}),
    ...extra,
  };
  return { id: made.id, ok: failure === null, failure, summary };
}

/** Records a backup that was taken (ok) or that failed and was not kept (ok false): the one record of
 * every backup, whoever took it (the job, `clubos backup create`, a restore's pre-restore backup), with
 * one audit shape (backup.created). `restoreId` marks a pre-restore backup and names its restore. Whoever
 * may take a backup may record one (backups:operate, which everyone who may restore also holds). */
export const recordBackupCreated = defineAction({
  name: "recordBackupCreated",
  access: { capability: "backups:operate" },
  effect: "recovery",
  async run(
    _scope,
    input: { made: CreatedBackup | undefined; error?: unknown; triggeredBy?: string; restoreId?: string },
  ) {
    const attempt = backupAttempt(input.made, input.error, {
      ...(input.triggeredBy ? { triggeredBy: input.triggeredBy } : {}),
      ...(input.restoreId ? { preRestore: true, restoreId: input.restoreId } : {}),
    });
    return {
      result: { id: attempt.id, ok: attempt.ok, failure: attempt.failure },
      audit: {
        action: "backup.created",
        subjectType: "backup",
        subjectId: attempt.id,
        after: { ok: attempt.ok, ...attempt.summary },
      },
    };
  },
});
/** Records the outcome of `clubos backup verify`. */
export const recordBackupVerified = record("recordBackupVerified", "backup.verified");
/** The operator alert a failed or overdue restore drill raises (B-3), cleared by the next passing one. */
export const DRILL_ALERT = "backups.drill";

/** Records the outcome of a restore drill (B-3: a backup is trusted only after one passed): a failed one
 * raises a warning on the operator pages, a passing one clears it. */
export const recordBackupDrilled = defineAction({
  name: "recordBackupDrilled",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run({ trx }, input: { id: string; ok: boolean; summary: Summary }) {
    if (input.ok) await clearAlert(trx, DRILL_ALERT);
    else
      await raiseAlert(trx, {
        key: DRILL_ALERT,
        severity: "warning",
        message:
          `The restore drill of backup ${input.id} failed: that backup cannot be relied on. ` +
          "Run `clubos backup drill` and follow docs/runbooks/restore-drill.md.",
      });
    return {
      result: { id: input.id, ok: input.ok },
      audit: {
        action: "backup.drilled",
        subjectType: "backup",
        subjectId: input.id,
        after: { ok: input.ok, ...input.summary },
      },
    };
  },
});

/** Raises the drill warning when no drill has passed for too long (or there is nothing to drill). */
export const warnDrillOverdue = defineAction({
  name: "warnDrillOverdue",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run({ trx }, input: { message: string }) {
    await raiseAlert(trx, { key: DRILL_ALERT, severity: "warning", message: input.message });
    return {
      result: {},
      audit: {
        action: "backup.drill_overdue",
        subjectType: "backup",
        subjectId: "drill",
        reason: input.message,
      },
    };
  },
});

/** Records a backup's deletion by hand: named actor and reason (B-2); the caller removes the files only
 * after this is committed, so no backup disappears without its entry. */
export const recordBackupDeleted = defineAction({
  name: "recordBackupDeleted",
  access: { capability: "system:operate" },
  effect: "admin",
  async run(_scope, input: { id: string; reason: string; summary: Summary }) {
    const reason = input.reason?.trim();
    if (!reason) throw invalidInput("A reason is required to delete a backup: it is kept in the audit log.");
    return {
      result: { id: input.id },
      audit: {
        action: "backup.deleted",
        subjectType: "backup",
        subjectId: input.id,
        before: input.summary,
        reason,
      },
    };
  },
});

/** Records a full admin's or operator's request to run the backup or the drill now (the job itself
 * records what it did). Refused while one of that kind runs: one at a time, as the scheduler's lock
 * also ensures. */
export const requestBackupRun = defineAction({
  name: "requestBackupRun",
  access: { capability: "backups:operate" },
  effect: "recovery",
  async run({ trx }, input: { job: string }) {
    if (!Object.hasOwn(BACKUP_JOBS, input.job))
      throw invalidInput("Choose what to run: a backup or a restore drill.");
    const job = input.job as BackupJobName;
    const [latest] = await readJobProgress(trx, [job]);
    if (latest?.running)
      throw BACKUPS_ERRORS.backup_job_running(
        `A ${BACKUP_JOBS[job]} is already running (started ${latest.startedAt.toISOString()} by ${latest.triggeredBy}). ` +
          "Wait for it to finish; the backups page shows how far it is.",
      );
    return {
      result: { job },
      audit: { action: "backup.run_requested", subjectType: "backup", subjectId: job, after: { job } },
    };
  },
});
