import { runJob } from "../core/scheduler.ts";
import type { BackupOperations } from "../domains/ops/backups.routes.tsx";
import { backupKeyWarning } from "./backup-env.ts";
import type { AppContext } from "./context.ts";
import { findJob } from "./jobs.ts";

/** The backups page's view of this process: its folder and key warning, and the scheduled jobs run now
 * exactly as the scheduler runs them (mode check, advisory lock, progress record, audit entries). */
export function backupOperations(ctx: AppContext): BackupOperations {
  return {
    backupDir: ctx.config.backupDir,
    keyWarning: backupKeyWarning(ctx.config),
    start(name, triggeredBy) {
      const job = findJob(name);
      // runJob never throws: its outcome is in job_progress and the job's audit entries.
      if (job) void runJob(ctx, job, { triggeredBy });
    },
  };
}
