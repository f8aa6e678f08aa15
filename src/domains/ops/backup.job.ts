import type { ActionEnv } from "../../core/action.ts";
import { defineAction, runAction } from "../../core/action.ts";
import { actorRef, systemActor } from "../../core/actor.ts";
import {
  type BackupListing,
  type BackupProgress,
  type BackupTarget,
  backupIdTime,
  type CreatedBackup,
  DEFAULT_RETENTION,
  deleteBackup,
  describeRetention,
  listBackups,
  newestGoodBackup,
  type RetainedBackup,
  type RetentionPolicy,
  retentionPlan,
} from "../../core/backup/index.ts";
import {
  JOB_MODES,
  type Job,
  type JobConfig,
  type JobContext,
  type JobRun,
  type JobSummary,
} from "../../core/scheduler.ts";
import { recordBackupCreated, recordBackupDeleted } from "./backups.actions.ts";
import { describeBackupProgress } from "./backups.presenters.ts";
import { recentBackupOutcomes } from "./backups.repository.ts";
import { openOrNoteIncidentIn } from "./incidents.repository.ts";

/* Scheduled backups (B-1) and the alarm when they stop working (GitLab 2017: backups failed silently for
 * weeks). A backup counts as good only when its bundle is complete and every copy verified; anything
 * else is a failure, recorded as one. Two failures in a row, or no good backup for longer than two
 * intervals, open a SEV-1 incident (its banner is on every operator page) until a person closes it. */

const ACTOR = systemActor("backup");
const RUNBOOK = "docs/runbooks/backup-verification.md";

/** Opens the backups SEV-1, or adds to the one still open. */
export const reportBackupsFailing = defineAction({
  name: "reportBackupsFailing",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run(scope, input: { why: string }) {
    const who = actorRef(scope.actor);
    const note = `${input.why} Follow ${RUNBOOK}; \`clubos backup list\` shows what there is.`;
    const { incident, opened, outbox } = await openOrNoteIncidentIn(scope, {
      severity: "SEV-1",
      area: "data",
      title: "Backups are failing",
      openedBy: who,
      note,
    });
    return {
      result: { incident, opened },
      audit: {
        action: opened ? "incident.opened" : "incident.noted",
        subjectType: "incident",
        subjectId: incident.id,
        after: { number: incident.number, severity: "SEV-1", area: "data" },
        reason: input.why,
      },
      outbox,
    };
  },
});

/** What the scheduled backup needs from the app: where backups go, and how to take one (key, copy
 * targets and invariant checks all come from the configuration). */
export interface BackupJobOptions<C extends JobConfig = JobConfig> {
  intervalMs: number;
  retention?: RetentionPolicy;
  backupDir(ctx: JobContext<C>): string;
  take(
    ctx: JobContext<C>,
    actor: string,
    onProgress: (event: BackupProgress) => void,
  ): Promise<CreatedBackup>;
  /** The off-site copies (copy folder, bucket): pruned by the same policy after the backup folder. */
  targets?(ctx: JobContext<C>): BackupTarget[];
}

/** Why the backups need a person now, or null: the last two attempts failed, or the newest good
 * backup is older than two intervals (or there is none while attempts keep failing). */
async function alarm<C extends JobConfig>(
  run: JobRun<C>,
  options: BackupJobOptions<C>,
  listings: () => BackupListing[],
): Promise<string | null> {
  const recent = await recentBackupOutcomes(run.ctx.database.db, 2);
  if (recent.length === 2 && recent.every((r) => !r.ok))
    return "The last two backups failed: there is no new copy of the club's data.";
  const newest = newestGoodBackup(listings());
  const stale = newest && run.now.getTime() - Date.parse(newest.createdAt) > 2 * options.intervalMs;
  if (stale) return `The newest good backup (${newest.id}) is older than two backup intervals.`;
  return null;
}

/** Removes the backups the retention policy no longer keeps (B-2), each deletion audited before its
 * files go: in the backup folder, then in each off-site copy by the same policy (a backup taken by hand
 * or before a migration is kept or pruned like any other). Pruning is an admin change: in read-only
 * mode or under the admin freeze it is refused, and everything is kept until it is allowed again. */
async function prune<C extends JobConfig>(
  run: JobRun<C>,
  options: BackupJobOptions<C>,
  env: ActionEnv,
  listings: BackupListing[],
): Promise<{ pruned: number; problems: string[] }> {
  const policy = options.retention ?? DEFAULT_RETENTION;
  const reason = `retention policy (${describeRetention(policy)})`;
  const primary = new Map(listings.map((b) => [b.id, b]));
  const retained = (id: string): RetainedBackup => ({
    id,
    createdAt: primary.get(id)?.createdAt ?? backupIdTime(id),
    trusted: primary.get(id)?.drill.state === "passed",
  });
  // False once the audit entry is refused (the mode): nothing more is pruned anywhere.
  const audited = async (id: string, summary: Record<string, unknown>, where: string) => {
    try {
      await runAction(env, recordBackupDeleted, { id, reason: `${reason}${where}`, summary });
      return true;
    } catch {
      return false;
    }
  };
  const dir = options.backupDir(run.ctx);
  let pruned = 0;
  for (const id of retentionPlan([...primary.keys()].map(retained), policy).prune) {
    const listing = primary.get(id)!;
    if (!(await audited(id, { createdAt: listing.createdAt, bytes: listing.bytes }, "")))
      return { pruned, problems: [] };
    deleteBackup(dir, id);
    pruned++;
  }
  const problems: string[] = [];
  for (const target of options.targets?.(run.ctx) ?? []) {
    try {
      const held = await target.list();
      for (const id of retentionPlan(held.map(retained), policy).prune) {
        const where = ` in the copy at ${target.location}`;
        if (!(await audited(id, { createdAt: retained(id).createdAt, location: target.location }, where)))
          return { pruned, problems };
        await target.remove(id);
        pruned++;
      }
    } catch (error) {
      problems.push(`the copy at ${target.location} could not be pruned: ${(error as Error).message}`);
    }
  }
  return { pruned, problems };
}

/** The scheduled backup job: hourly by default, one at a time across servers (the scheduler's advisory
 * lock). It also runs in read-only mode, when a backup matters most; during maintenance (a restore
 * takes its own) it waits (JOB_MODES.protective). */
export function backupJob<C extends JobConfig>(options: BackupJobOptions<C>): Job<C> {
  return {
    name: "backup",
    description: "Take a backup (copied off-site and verified); failing twice opens a SEV-1 incident",
    intervalMs: options.intervalMs,
    modes: JOB_MODES.protective,
    async run(run: JobRun<C>): Promise<JobSummary> {
      const env = run.ctx.actionEnv(ACTOR, run.runId);
      let made: CreatedBackup | undefined;
      let error: unknown;
      try {
        made = await options.take(run.ctx, actorRef(ACTOR), (event) => {
          const line = describeBackupProgress(event, { partial: true });
          if (line) run.progress(line);
        });
      } catch (thrown) {
        error = thrown;
      }
      const { failure } = await runAction(env, recordBackupCreated, {
        made,
        error,
        triggeredBy: run.triggeredBy,
      });
      // Read once, when first needed (two failures in a row need no listing, and the folder may be gone).
      let listed: BackupListing[] | undefined;
      const listings = () => {
        listed ??= listBackups(options.backupDir(run.ctx), run.now);
        return listed;
      };
      const why = await alarm(run, options, listings);
      if (why)
        await runAction(env, reportBackupsFailing, { why: failure ? `${why} Last error: ${failure}` : why });
      if (failure) return { changed: 0, failed: 1, detail: `backup failed: ${failure}` };
      const { pruned, problems } = await prune(run, options, env, listings());
      const gone = pruned ? `; ${pruned} older backup(s) pruned by the retention policy` : "";
      const left = problems.length ? `; ${problems.join("; ")}` : "";
      return {
        changed: 1 + pruned,
        failed: 0,
        detail: `backup ${made!.id} taken and verified${gone}${left}`,
      };
    },
  };
}
