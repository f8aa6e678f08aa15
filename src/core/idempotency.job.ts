import { purgeExpiredIdempotencyKeys } from "./idempotency.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "./scheduler.ts";

/** Removes expired Idempotency-Key records: ephemeral data, kept 24 hours for replays (W-3) and of no
 * use after, so no audit entry. Idempotent: an expired key is gone after one run. */
async function purgeExpiredKeys(run: JobRun): Promise<JobSummary> {
  const removed = await purgeExpiredIdempotencyKeys(run.ctx.database, run.signal);
  run.progress(`removed ${removed} expired idempotency key(s)`);
  return { changed: removed, failed: 0 };
}

/** The idempotency key purge: hourly, so a key goes within the hour after its 24 hours. */
export const idempotencyPurgeJob: Job = {
  name: "purge-idempotency-keys",
  description: "Remove Idempotency-Key records past their 24 hours, when a replay is no longer served",
  intervalMs: 60 * 60_000,
  modes: JOB_MODES.normal,
  run: purgeExpiredKeys,
};
