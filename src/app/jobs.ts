import { idempotencyPurgeJob } from "../core/idempotency.job.ts";
import type { Job } from "../core/scheduler.ts";
import { importRetentionJob } from "../domains/members/import-retention.job.ts";
import { lapseJob } from "../domains/members/lapse.job.ts";
import { incidentWatchJob } from "../domains/ops/incident-watch.job.ts";
import { invariantScanJob } from "../domains/ops/invariant-scan.job.ts";
import { invariantScanMinutes } from "./config.ts";
import { allInvariantChecks } from "./invariants.ts";

/** Every scheduled job: run on their intervals by `clubos serve`, by hand with `clubos jobs run`. */
export const JOBS: readonly Job[] = [
  lapseJob,
  importRetentionJob,
  idempotencyPurgeJob,
  invariantScanJob({ checks: allInvariantChecks, intervalMs: invariantScanMinutes() * 60_000 }),
  incidentWatchJob,
];

/** The job with this name, or undefined. */
export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
