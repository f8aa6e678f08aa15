import { runAction } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { ClubError } from "../../core/errors.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { dueSchedules } from "./preview.repository.ts";
import { failScheduledPublish, runScheduledPublish } from "./scheduled-publish.actions.ts";

const ACTOR = systemActor("scheduled-publish");

/** Publishes every schedule whose time has come, each in its own action. A refusal by the mode defers
 * the run (the scheduler retries); a refusal by the publish freeze, or a draft that is gone, ends that
 * schedule as failed with the reason. */
async function publishDue(run: JobRun): Promise<JobSummary> {
  const env = run.ctx.actionEnv(ACTOR, run.runId);
  let changed = 0;
  const failures: string[] = [];
  for (const s of await dueSchedules(run.ctx.database.db, run.now)) {
    if (run.signal.aborted) break;
    try {
      await runAction(env, runScheduledPublish, {
        pageId: s.page_id,
        scheduleId: s.id,
        now: run.now,
        timeZone: run.ctx.config.timeZone,
      });
      changed++;
    } catch (error) {
      if (!(error instanceof ClubError) || ["read_only", "state_unavailable"].includes(error.code))
        throw error;
      const reason = `Not published: ${error.message}`;
      await runAction(env, failScheduledPublish, { pageId: s.page_id, scheduleId: s.id, reason }).catch(
        () => {},
      );
      failures.push(`${s.page_id}: ${error.message}`);
    }
  }
  return { changed, failed: failures.length, detail: failures.slice(0, 5).join("; ") || undefined };
}

/** The scheduled-publish job: every minute, so a page goes up within a minute of its time. */
export const scheduledPublishJob: Job = {
  name: "scheduled-publish",
  description: "Publish page drafts whose scheduled time has come (refused under the publish freeze)",
  intervalMs: 60_000,
  modes: JOB_MODES.normal,
  run: publishDue,
};
