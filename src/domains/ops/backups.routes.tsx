import type { FastifyInstance } from "fastify";
import { actorRef } from "../../core/actor.ts";
import { listBackups } from "../../core/backup/index.ts";
import { readJobProgress } from "../../core/job-progress.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { requestBackupRun } from "./backups.actions.ts";
import { backupOverview } from "./backups.presenters.ts";
import { BACKUP_JOBS, type BackupJobName, BackupRunForm } from "./backups.schemas.ts";
import { BackupsView } from "./backups.views.tsx";

/** What the backups page needs from the app: the configured folder and key warning, and a way to run
 * the scheduled backup or drill job now (the app's jobs, with their advisory lock and audit trail). */
export interface BackupOperations {
  backupDir: string;
  keyWarning: string | null;
  /** Starts the job in the background as `triggeredBy`; its run records its own progress and outcome. */
  start(job: BackupJobName, triggeredBy: string): void;
}

/** While a backup or drill runs the page reloads itself this often, so its progress shows. */
const REFRESH_SECONDS = 5;

/** The backups section of the operator pages (G01, B-3): for those with backups:operate (full admins
 * and operators); everyone else is refused by the capability guard, as for /admin/system. */
export function backupRoutes(app: FastifyInstance, ops: BackupOperations): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/system/backups",
    capability: "backups:operate",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Backups: where each is, whether it is trusted, the last drill, and what is running",
    handler: async (request, reply) => {
      const runs = await readJobProgress(request.server.ctx.database.db, Object.keys(BACKUP_JOBS));
      const running = runs.some((r) => r.running);
      return sendPage(
        request,
        reply,
        "Backups",
        <BackupsView
          page={pageContext(request)}
          overview={backupOverview(listBackups(ops.backupDir))}
          runs={runs}
          keyWarning={ops.keyWarning}
        />,
        200,
        running ? { refreshSeconds: REFRESH_SECONDS } : {},
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/system/backups/run",
    action: requestBackupRun,
    loadClass: "admin",
    response: "html",
    summary: "Take a backup or drill the newest one now (one at a time; audited)",
    schema: { body: BackupRunForm },
    handler: async (request, reply, action) => {
      const { job } = await action.run({ job: request.body.job ?? "" });
      ops.start(job, actorRef(request.auth.actor));
      return reply.redirect("/admin/system/backups", 303);
    },
  });
}
