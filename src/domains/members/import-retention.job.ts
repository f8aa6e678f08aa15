import { runActionWith } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { purgeImportDetails } from "./import/import.actions.ts";
import { countImportsToPurge } from "./import/import.repository.ts";

/** How long an import keeps its row-by-row personal data when CLUBOS_IMPORT_RETENTION_DAYS is not set. */
export const DEFAULT_IMPORT_RETENTION_DAYS = 30;

const ACTOR = systemActor("import-retention");
const DAY_MS = 24 * 3600_000;

// The job context types only what every job needs; the process's Config carries this setting.
const retentionDays = (run: JobRun) =>
  (run.ctx.config as { importRetentionDays?: number }).importRetentionDays ?? DEFAULT_IMPORT_RETENTION_DAYS;

/** Removes the personal data of imports older than the retention period, in one action with one audit
 * entry. Idempotent: a purged import is no longer a candidate, and a run with none writes nothing. */
async function purgeOldImports(run: JobRun): Promise<JobSummary> {
  const days = retentionDays(run);
  const before = new Date(run.now.getTime() - days * DAY_MS);
  const reason = `Imports older than ${days} days lose their row details (import retention, ${run.triggeredBy}).`;
  const purged = await runActionWith(
    run.ctx.actionEnv(ACTOR, run.runId),
    purgeImportDetails,
    { before, retentionDays: days, reason },
    {
      before: async (trx) => ((await countImportsToPurge(trx, before)) === 0 ? 0 : undefined),
      after: async (_trx, n) => n,
    },
  );
  run.progress(`removed the row details of ${purged} import(s) older than ${days} days`);
  return { changed: purged, failed: 0 };
}

/** The import retention job: hourly, so details go within the hour of their retention ending. */
export const importRetentionJob: Job = {
  name: "purge-import-details",
  description:
    "Remove the row-by-row personal data of member imports older than CLUBOS_IMPORT_RETENTION_DAYS",
  intervalMs: 60 * 60_000,
  modes: JOB_MODES.normal,
  run: purgeOldImports,
};
