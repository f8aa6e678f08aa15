import { runActionWith } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { purgeUnconfirmedApplications } from "./join.actions.ts";
import { countExpiredUnconfirmed } from "./join.repository.ts";

const ACTOR = systemActor("join-expiry");

/** Deletes applications whose confirmation link expired unused, in one action with one audit entry;
 * a run with none writes nothing. */
async function purgeUnconfirmed(run: JobRun): Promise<JobSummary> {
  const deleted = await runActionWith(
    run.ctx.actionEnv(ACTOR, run.runId),
    purgeUnconfirmedApplications,
    undefined,
    {
      before: async (trx) => ((await countExpiredUnconfirmed(trx)) === 0 ? { deleted: 0 } : undefined),
      after: async (_trx, result) => result,
    },
  );
  run.progress(`deleted ${deleted.deleted} unconfirmed join application(s) whose link expired`);
  return { changed: deleted.deleted, failed: 0 };
}

/** Unconfirmed join applications expire: hourly, those whose link expired are deleted. */
export const joinExpiryJob: Job = {
  name: "expire-join-applications",
  description: "Delete join applications whose email was not confirmed before the link expired",
  intervalMs: 60 * 60_000,
  modes: JOB_MODES.normal,
  run: purgeUnconfirmed,
};
