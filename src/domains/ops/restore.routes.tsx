import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { readJobProgress } from "../../core/job-progress.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { Query } from "../../http/schema.ts";
import { beginRestore, signOffRestore } from "./restore.actions.ts";
import { RESTORE_ERRORS } from "./restore.errors.ts";
import { recentRestores } from "./restore.repository.ts";
import { RESTORE_PROGRESS_JOB, type RestoreRunner } from "./restore.runner.ts";
import { RestoreForm, SignOffForm } from "./restore.schemas.ts";
import { RestoreView } from "./restore.views.tsx";

const NOTICES = {
  started: "The restore has started. This page shows its progress.",
  signed: "The restore is signed off. Writes are on again.",
} as const;
const DoneQuery = Query({
  done: Type.Optional(Type.Enum(Object.keys(NOTICES) as Array<keyof typeof NOTICES>)),
});

/** The restore page for full admins and operators (REC-1..REC-4): start a restore with its typed
 * confirmation, follow its progress, and sign it off. The restore runs in the app (runner), which owns
 * the backup folder and key; its progress is read from job_progress, so any server's page shows it. */
export function restoreRoutes(app: FastifyInstance, runner: RestoreRunner): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/restore",
    capability: "backups:restore",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Restore from a backup: progress, restores so far, sign-off, the backups to choose from",
    schema: { querystring: DoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const [run] = await readJobProgress(db, [RESTORE_PROGRESS_JOB]);
      const done = request.query.done;
      return sendPage(
        request,
        reply,
        "Restore from a backup",
        <RestoreView
          page={pageContext(request)}
          run={run ?? null}
          restores={await recentRestores(db)}
          backups={runner.backups()}
          notice={done ? NOTICES[done] : undefined}
        />,
        200,
        run?.running ? { refreshSeconds: 3 } : {},
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/restore",
    action: beginRestore,
    loadClass: "admin",
    response: "html",
    summary: "Start restoring a backup over the club's data (typed confirmation)",
    schema: { body: RestoreForm },
    handler: async (request, reply) => {
      const id = request.body.backupId?.trim() ?? "";
      if (!id || request.body.confirm?.trim() !== id) {
        throw RESTORE_ERRORS.restore_confirmation_mismatch(
          "To restore a backup, type its id exactly in the confirmation field. Nothing was changed.",
        );
      }
      await runner.start(request.auth.actor, { id, reason: request.body.reason ?? "" });
      return reply.redirect("/admin/restore?done=started", 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/restore/sign-off",
    action: signOffRestore,
    loadClass: "admin",
    response: "html",
    summary: "Sign off a verified restore and turn writes back on",
    schema: { body: SignOffForm },
    handler: async (request, reply, action) => {
      if (request.body.checked !== "yes") {
        throw RESTORE_ERRORS.restore_not_verified(
          "Tick the box to say you checked the restored data before signing it off. Nothing was changed.",
        );
      }
      await action.run({ note: request.body.note });
      await request.server.ctx.modes.refresh();
      return reply.redirect("/admin/restore?done=signed", 303);
    },
  });
}
