import { idempotencyPurgeJob } from "../core/idempotency.job.ts";
import type { Job } from "../core/scheduler.ts";
import { importRetentionJob } from "../domains/members/import-retention.job.ts";
import { lapseJob } from "../domains/members/lapse.job.ts";

/** Every scheduled job: run on their intervals by `clubos serve`, by hand with `clubos jobs run`. */
export const JOBS: readonly Job[] = [lapseJob, importRetentionJob, idempotencyPurgeJob];

/** The job with this name, or undefined. */
export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
