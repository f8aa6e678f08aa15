import { runJob } from "../core/scheduler.ts";
import type { BackupOperations } from "../domains/ops/backups.routes.tsx";
import { backupKeyWarning } from "./backup-env.ts";
import type { AppContext } from "./context.ts";
import { findJob } from "./jobs.ts";

/** The backups page's operations, and a way to wait for the runs it started. */
export interface PageBackupOperations extends BackupOperations {
  /** Resolves once every backup or drill started from the page has ended. */
  settled(): Promise<void>;
}

/** The backups page's view of this process: its folder and key warning, and the scheduled jobs run now
 * exactly as the scheduler runs them (mode check, advisory lock, progress record, audit entries). The
 * runs it starts are kept until they end, so closing the server waits for them (server.ts) instead of
 * closing the database under a backup half written. */
export function backupOperations(ctx: AppContext): PageBackupOperations {
  const running = new Set<Promise<unknown>>();
  return {
    backupDir: ctx.config.backupDir,
    keyWarning: backupKeyWarning(ctx.config),
    start(name, triggeredBy) {
      const job = findJob(name);
      if (!job) return;
      // runJob never throws: its outcome is in job_progress and the job's audit entries.
      const run: Promise<unknown> = runJob(ctx, job, { triggeredBy }).finally(() => running.delete(run));
      running.add(run);
    },
    async settled() {
      await Promise.allSettled([...running]);
    },
  };
}
