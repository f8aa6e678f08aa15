import { listAlerts, type OperatorAlert } from "../core/alerts.ts";
import { listBackups } from "../core/backup/index.ts";
import { refreshWalArchiveGauge, type WalArchiveStatus } from "../core/db/wal-archive.ts";
import { type JobProgress, readJobProgress } from "../core/job-progress.ts";
import { readSystemState, type SystemState } from "../core/modes.ts";
import { type MailState, presentMailState } from "../domains/mail/mail.presenters.ts";
import { mailQueueStats } from "../domains/mail/outbox.repository.ts";
import { type BackupOverview, backupOverview } from "../domains/ops/backups.presenters.ts";
import { BACKUP_JOBS } from "../domains/ops/backups.schemas.ts";
import { type IncidentRef, latestInvariantRun, openIncidents } from "../domains/ops/incidents.repository.ts";
import { backupKeyWarning } from "./backup-env.ts";
import type { AppContext } from "./context.ts";

/** Everything `clubos status` shows, read through the readers the pages and /readyz use. */
export interface OperatorStatus {
  state: SystemState | null;
  incidents: IncidentRef[];
  alerts: OperatorAlert[];
  backupKeyWarning: string | null;
  backups: Omit<BackupOverview, "backups"> & { count: number };
  runs: JobProgress[];
  mail: MailState;
  walArchive: WalArchiveStatus;
  invariants: {
    ok: boolean;
    finishedAt: Date;
    actor: string;
    failed: Array<{ id: string; violations: number; error?: string }>;
  } | null;
}

/** Reads the operator's one screen. A part that cannot be read is said to be so, never left out. */
export async function operatorStatus(ctx: AppContext, now = new Date()): Promise<OperatorStatus> {
  const db = ctx.database.db;
  const { backups, ...overview } = backupOverview(listBackups(ctx.config.backupDir, now), now);
  const scan = await latestInvariantRun(db);
  return {
    state: await readSystemState(db).catch(() => null),
    incidents: await openIncidents(db),
    alerts: await listAlerts(db),
    backupKeyWarning: backupKeyWarning(ctx.config),
    backups: { ...overview, count: backups.length },
    runs: await readJobProgress(db, Object.keys(BACKUP_JOBS)),
    mail: presentMailState(ctx.mail, await mailQueueStats(db).catch(() => null), now),
    walArchive: await refreshWalArchiveGauge(ctx.database),
    invariants: scan
      ? {
          ok: scan.ok,
          finishedAt: scan.finished_at,
          actor: scan.actor,
          failed: scan.failed.map((c) => ({
            id: c.id,
            violations: c.violations,
            ...(c.error ? { error: c.error } : {}),
          })),
        }
      : null,
  };
}
