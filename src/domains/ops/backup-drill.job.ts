import { runAction } from "../../core/action.ts";
import { actorRef, systemActor } from "../../core/actor.ts";
import { type BackupListing, type DrillResult, listBackups } from "../../core/backup/index.ts";
import {
  JOB_MODES,
  type Job,
  type JobConfig,
  type JobContext,
  type JobRun,
  type JobSummary,
} from "../../core/scheduler.ts";
import { recordBackupDrilled, warnDrillOverdue } from "./backups.actions.ts";
import { describeDrillStep } from "./backups.presenters.ts";

/* The scheduled restore drill (B-3): daily by default, of the newest backup. A backup is trusted only
 * after a drill passed; a failed drill, or none passing for two intervals, raises a warning on the
 * operator pages (not only a log line), cleared by the next passing drill. */

const ACTOR = systemActor("backup-drill");

/** What the drill needs from the app: where backups are, and how to drill one. */
export interface DrillJobOptions<C extends JobConfig = JobConfig> {
  intervalMs: number;
  backupDir(ctx: JobContext<C>): string;
  /** Drills the backup the job chose from its one listing of the folder (the newest). */
  drill(
    ctx: JobContext<C>,
    actor: string,
    backup: BackupListing,
    onProgress: (step: string, detail: string) => void,
  ): Promise<DrillResult>;
}

export function backupDrillJob<C extends JobConfig>(options: DrillJobOptions<C>): Job<C> {
  return {
    name: "backup-drill",
    description: "Restore the newest backup into a scratch database and verify it; a failure warns operators",
    intervalMs: options.intervalMs,
    modes: JOB_MODES.protective,
    async run(run: JobRun<C>): Promise<JobSummary> {
      const env = run.ctx.actionEnv(ACTOR, run.runId);
      // Listed once: the backup drilled is the one this listing found, not a second look's newest.
      const [newest] = listBackups(options.backupDir(run.ctx), run.now);
      if (!newest) {
        await runAction(env, warnDrillOverdue, {
          message: "There is no backup to drill: no backup can be trusted. See `clubos backup list`.",
        });
        return { changed: 0, failed: 1, detail: "no backup to drill" };
      }
      const drilled = await options.drill(run.ctx, actorRef(ACTOR), newest, (step, detail) =>
        run.progress(describeDrillStep(step, detail)),
      );
      await runAction(env, recordBackupDrilled, {
        id: drilled.id,
        ok: drilled.ok,
        summary: { steps: drilled.steps.map((s) => ({ name: s.name, ok: s.ok })), scheduled: true },
      });
      if (!drilled.ok) return { changed: 0, failed: 1, detail: `the drill of backup ${drilled.id} FAILED` };
      return { changed: 1, failed: 0, detail: `the drill of backup ${drilled.id} passed: it is trusted` };
    },
  };
}
