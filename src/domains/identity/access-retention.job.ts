import { runActionWith } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { type AccessRetention, cutoffsOf, purgeStaleAccessData } from "./access-retention.actions.ts";
import { countStaleLoginData } from "./access-retention.repository.ts";
import { countDecidedBefore } from "./join.repository.ts";

/** The retention when the CLUBOS_* settings are not set: a throttle is forgotten within minutes anyway,
 * a browser not used for a year is not "known" any more, and a decision is kept half a year for
 * questions about it. */
export const DEFAULT_ACCESS_RETENTION: AccessRetention = {
  throttleDays: 30,
  deviceDays: 365,
  joinApplicationDays: 180,
};

const ACTOR = systemActor("access-retention");

// The job context types only what every job needs; the process's Config carries this setting.
const retentionOf = (run: JobRun): AccessRetention =>
  (run.ctx.config as { accessRetention?: AccessRetention }).accessRetention ?? DEFAULT_ACCESS_RETENTION;

/** Deletes the sign-in and join data past its retention; a run with nothing to delete writes nothing. */
async function purgeStale(run: JobRun): Promise<JobSummary> {
  const retention = retentionOf(run);
  const cutoffs = cutoffsOf(retention, run.now);
  const reason = `Login throttles unused for ${retention.throttleDays} days, browsers unused for ${retention.deviceDays} days and join applications decided ${retention.joinApplicationDays} days ago are deleted (access data retention, ${run.triggeredBy}).`;
  const deleted = await runActionWith(
    run.ctx.actionEnv(ACTOR, run.runId),
    purgeStaleAccessData,
    { retention, cutoffs, reason },
    {
      before: async (trx) => {
        const waiting =
          (await countStaleLoginData(trx, cutoffs)) +
          (await countDecidedBefore(trx, cutoffs.joinApplications));
        return waiting === 0 ? { throttles: 0, devices: 0, attempts: 0, joinApplications: 0 } : undefined;
      },
      after: async (_trx, result) => result,
    },
  );
  run.progress(
    `deleted ${deleted.throttles} login throttle(s), ${deleted.devices} remembered browser(s), ${deleted.attempts} sign-in history row(s) and ${deleted.joinApplications} decided join application(s)`,
  );
  return {
    changed: deleted.throttles + deleted.devices + deleted.attempts + deleted.joinApplications,
    failed: 0,
  };
}

/** The access data retention job: daily. */
export const accessRetentionJob: Job = {
  name: "purge-access-data",
  description:
    "Delete login throttles, remembered browsers and sign-in history, and decided join applications past CLUBOS_LOGIN_THROTTLE_RETENTION_DAYS, CLUBOS_LOGIN_DEVICE_RETENTION_DAYS and CLUBOS_JOIN_APPLICATION_RETENTION_DAYS",
  intervalMs: 24 * 60 * 60_000,
  modes: JOB_MODES.normal,
  run: purgeStale,
};
