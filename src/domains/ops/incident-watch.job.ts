import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { refreshOpsAlerts } from "./incidents.repository.ts";

/** Recomputes the incident log's banners (D-2): a degraded state that has lasted over an hour with no
 * incident open raises a prompt on every admin page, which no change triggers by itself, so a job looks.
 * It runs in every mode (read-only is exactly when it matters) and writes only alerts. */
async function watch(run: JobRun): Promise<JobSummary> {
  await run.ctx.database.db.transaction().execute((trx) => refreshOpsAlerts(trx, run.now));
  return { changed: 0, failed: 0 };
}

/** Every five minutes: the prompt shows at most five minutes after the hour is up. */
export const incidentWatchJob: Job = {
  name: "incident-watch",
  description: "Raise the banner for a degraded state lasting over an hour without an incident (D-2)",
  intervalMs: 5 * 60_000,
  modes: JOB_MODES.always,
  run: watch,
};
