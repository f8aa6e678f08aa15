import { idempotencyPurgeJob } from "../core/idempotency.job.ts";
import type { Job, JobContext } from "../core/scheduler.ts";
import { importRetentionJob } from "../domains/members/import-retention.job.ts";
import { lapseJob } from "../domains/members/lapse.job.ts";
import { backupJob } from "../domains/ops/backup.job.ts";
import { backupDrillJob } from "../domains/ops/backup-drill.job.ts";
import { incidentWatchJob } from "../domains/ops/incident-watch.job.ts";
import { invariantScanJob } from "../domains/ops/invariant-scan.job.ts";
import { drillOf, takeBackup } from "./backup-env.ts";
import { backupDrillHours, backupIntervalMinutes, type Config, invariantScanMinutes } from "./config.ts";
import { allInvariantChecks } from "./invariants.ts";

// The scheduler hands each job the process's context, typed narrowly in core; the backup job needs the
// whole configuration (folder, key, copy targets), which the running process always has.
function configOf(ctx: JobContext): Config {
  const config = ctx.config as Partial<Config>;
  if (typeof config.backupDir !== "string")
    throw new Error("The backup job needs the process's configuration.");
  return config as Config;
}

/** Every scheduled job: run on their intervals by `clubos serve`, by hand with `clubos jobs run`. */
export const JOBS: readonly Job[] = [
  lapseJob,
  importRetentionJob,
  idempotencyPurgeJob,
  invariantScanJob({ checks: allInvariantChecks, intervalMs: invariantScanMinutes() * 60_000 }),
  incidentWatchJob,
  backupJob({
    intervalMs: backupIntervalMinutes() * 60_000,
    backupDir: (ctx) => configOf(ctx).backupDir,
    take: (ctx, actor) => takeBackup(configOf(ctx), ctx.database, actor),
  }),
  backupDrillJob({
    intervalMs: backupDrillHours() * 60 * 60_000,
    backupDir: (ctx) => configOf(ctx).backupDir,
    drill: (ctx, actor) => drillOf(configOf(ctx), actor),
  }),
];

/** The job with this name, or undefined. */
export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
