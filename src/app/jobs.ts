import { idempotencyPurgeJob } from "../core/idempotency.job.ts";
import type { Job } from "../core/scheduler.ts";
import { joinExpiryJob } from "../domains/identity/join.job.ts";
import { importRetentionJob } from "../domains/members/import-retention.job.ts";
import { lapseJob } from "../domains/members/lapse.job.ts";
import { renewalReminderJob } from "../domains/members/renewal-reminders.job.ts";
import { backupJob } from "../domains/ops/backup.job.ts";
import { backupDrillJob } from "../domains/ops/backup-drill.job.ts";
import { incidentWatchJob } from "../domains/ops/incident-watch.job.ts";
import { invariantScanJob } from "../domains/ops/invariant-scan.job.ts";
import { leakAuditJob } from "../domains/pages/leak-audit.job.ts";
import { scheduledPublishJob } from "../domains/pages/scheduled-publish.job.ts";
import { backupTargets, drillOf, takeBackup } from "./backup-env.ts";
import { backupDrillHours, backupIntervalMinutes, type Config, invariantScanMinutes } from "./config.ts";
import { allInvariantChecks } from "./invariants.ts";
import { appContextOf, auditAndRecord } from "./leak-audit.ts";

/** Every scheduled job: run on their intervals by `clubos serve`, by hand with `clubos jobs run`. */
export const JOBS: readonly Job<Config>[] = [
  lapseJob,
  importRetentionJob,
  idempotencyPurgeJob,
  invariantScanJob({ checks: allInvariantChecks, intervalMs: invariantScanMinutes() * 60_000 }),
  incidentWatchJob,
  joinExpiryJob,
  backupJob({
    intervalMs: backupIntervalMinutes() * 60_000,
    backupDir: (ctx) => ctx.config.backupDir,
    take: (ctx, actor, onProgress) => takeBackup(ctx.config, ctx.database, actor, onProgress),
    targets: (ctx) => backupTargets(ctx.config),
  }),
  backupDrillJob({
    intervalMs: backupDrillHours() * 60 * 60_000,
    backupDir: (ctx) => ctx.config.backupDir,
    drill: (ctx, actor, backup, onProgress) => drillOf(ctx.config, actor, { backup, onProgress }),
  }),
  renewalReminderJob,
  scheduledPublishJob,
  leakAuditJob<Config>({
    intervalMs: 6 * 60 * 60_000,
    audit: (ctx, env) => auditAndRecord(appContextOf(ctx), env),
  }),
];

/** The job with this name, or undefined. */
export function findJob(name: string): Job<Config> | undefined {
  return JOBS.find((job) => job.name === name);
}
