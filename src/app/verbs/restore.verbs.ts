import path from "node:path";
import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { findBackup } from "../../core/backup/index.ts";
import { humanAge } from "../../domains/ops/backups.presenters.ts";
import { signOffRestore } from "../../domains/ops/restore.actions.ts";
import { RESTORE_ERRORS } from "../../domains/ops/restore.errors.ts";
import { recentRestores } from "../../domains/ops/restore.repository.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";
import { describeRestoredAccess, describeRestoreProgress, restoreInPlace } from "../restore-flow.ts";

const RUNBOOK = "docs/runbooks/database-restore.md";
const utc = (d: Date | string | null) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 16) : "");

/** `clubos restore ID --actor NAME --reason TEXT --confirm ID`, `clubos restore --status`. */
export function registerRestoreVerb(command: Command, env: CliEnv): void {
  command
    .argument("[id]", "the backup to restore (see `clubos backup list`)")
    .option("--actor <name>", "who runs this (kept in the audit log and on the incident)")
    .option("--reason <text>", "why (shown in the maintenance banner and kept on the incident)")
    .option("--confirm <id>", "the backup id typed again: the restore replaces the club's current data")
    .option("--from <folder>", "read the backup from this folder (e.g. a copy) instead of CLUBOS_BACKUP_DIR")
    .option("--status", "show the recent restores and whether one waits for sign-off")
    .action(
      async (
        id: string | undefined,
        o: { actor?: string; reason?: string; confirm?: string; from?: string; status?: boolean },
      ) => {
        if (o.status || !id) return showStatus(env);
        if (!o.actor) throw new Error("--actor NAME is required: every restore is attributed.");
        if (!o.reason?.trim())
          throw new Error("--reason TEXT is required: it is shown to everyone during the restore.");
        const from = o.from ? path.resolve(env.cwd ?? process.cwd(), o.from) : undefined;
        const found = findBackup(from ?? env.config.backupDir, id);
        if (o.confirm !== found.id) {
          env.io.out(
            `Restoring backup ${found.id} (taken ${utc(found.createdAt)}, ${humanAge(found.ageSeconds)} ago, ` +
              `${found.manifest.tables.length} tables, ${found.rows} rows, drill ${found.drill.state}) replaces the club's current data with it.`,
          );
          env.io.out(
            "A backup of the current data is taken first, writes stay off until someone signs the restore off, and every step is recorded.",
          );
          if (o.confirm !== undefined)
            throw RESTORE_ERRORS.restore_confirmation_mismatch(
              `The confirmation "${o.confirm}" is not the backup id ${found.id}. Nothing was changed.`,
            );
          env.io.out(`To go ahead, run the same command again with --confirm ${found.id}`);
          throw new CliExit(1);
        }
        const actor = operatorActor(o.actor);
        const outcome = await env.withRuntime((ctx) =>
          restoreInPlace(ctx, actor, {
            id: found.id,
            reason: o.reason!,
            from,
            onProgress: (p) => {
              const line = describeRestoreProgress(p);
              if (line) env.io.progress(line);
            },
          }),
        );
        env.io.out(
          `Restored backup ${outcome.backupId}: ${outcome.tables} tables, ${outcome.rows} rows. ` +
            `The data it replaced is in backup ${outcome.preRestoreBackupId}.`,
        );
        for (const s of outcome.steps) env.io.out(`  ${s.ok ? "ok    " : "FAILED"} ${s.name}: ${s.detail}`);
        env.io.out(`The confirmation is on INC-${outcome.incident.number}.`);
        env.io.out(describeRestoredAccess(outcome.access));
        if (!outcome.verified) {
          env.io.out(
            `VERIFICATION FAILED: writes stay off. Restore another backup (\`clubos restore ${outcome.preRestoreBackupId} ...\` puts back what was there); see ${RUNBOOK}.`,
          );
          throw new CliExit(1);
        }
        env.io.out(
          "Writes stay off until the restored data is checked and signed off: `clubos resume --actor NAME --sign-off` " +
            "(by another full admin when the club has two or more).",
        );
      },
    );
}

async function showStatus(env: CliEnv): Promise<void> {
  const restores = await env.withRuntime((ctx) => recentRestores(ctx.database.db));
  if (restores.length === 0) return env.io.out("No restore has been made in this database.");
  for (const r of restores) {
    env.io.out(
      `${utc(r.started_at)}  backup ${r.backup_id}  ${r.status}  by ${r.started_by}` +
        (r.pre_restore_backup_id ? `  (pre-restore backup ${r.pre_restore_backup_id})` : "") +
        (r.signed_off_by ? `  signed off by ${r.signed_off_by} at ${utc(r.signed_off_at)}` : "") +
        (r.failure ? `  failure: ${r.failure}` : ""),
    );
  }
}

/** `clubos resume --actor NAME --sign-off`: turns writes back on after a verified restore. */
export function registerResumeVerb(command: Command, env: CliEnv): void {
  command
    .requiredOption("--actor <name>", "who signs off (kept in the audit log and on the incident)")
    .option("--sign-off", "confirm that you checked the restored data and writes may go on")
    .option("--note <text>", "what you checked (kept on the incident)")
    .action(async (o: { actor: string; signOff?: boolean; note?: string }) => {
      if (!o.signOff) {
        env.io.out(
          "Resuming writes after a restore needs --sign-off: it says you checked the restored data (the member list, recent events) and writes may go on.",
        );
        throw new CliExit(1);
      }
      const r = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), signOffRestore, { note: o.note }),
      );
      env.io.out(`Signed off the restore of backup ${r.backupId}. Writes are on again (mode normal).`);
    });
}
