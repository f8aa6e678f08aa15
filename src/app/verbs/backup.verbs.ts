import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { type Actor, actorRef, operatorActor, systemActor } from "../../core/actor.ts";
import {
  type BackupProgress,
  type CreatedBackup,
  deleteBackup,
  findBackup,
  generateBackupKey,
  incompleteBackups,
  keyFingerprint,
  listBackups,
  parseBackupKey,
  verifyBackup,
} from "../../core/backup/index.ts";
import {
  recordBackupCreated,
  recordBackupDeleted,
  recordBackupDrilled,
  recordBackupVerified,
} from "../../domains/ops/backups.actions.ts";
import {
  describeBackupProgress,
  describeDrillStep,
  humanAge,
  humanBytes,
  presentBackup,
} from "../../domains/ops/backups.presenters.ts";
import { backupKey, backupKeyWarning, drillOf, takeBackup } from "../backup-env.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";

const RUNBOOK_VERIFY = "docs/runbooks/backup-verification.md";
const RUNBOOK_DRILL = "docs/runbooks/restore-drill.md";

function progressLine(env: CliEnv, event: BackupProgress): void {
  const line = describeBackupProgress(event);
  if (line) env.io.progress(line);
}

/** A folder named on the command line, relative to where the command was typed. */
const folder = (env: CliEnv, dir: string | undefined) =>
  dir ? path.resolve(env.cwd ?? process.cwd(), dir) : env.config.backupDir;

/** `clubos backup create|list|verify|drill|delete|key create`. */
export function registerBackupVerbs(backup: Command, env: CliEnv): void {
  backup
    .command("create")
    .description("Take a consistent, checksummed (and, with a key, encrypted) backup of every table")
    .requiredOption("--actor <name>", "who runs this (kept in the manifest and the audit log)")
    .action(async (o: { actor: string }) => {
      const actor = operatorActor(o.actor);
      const created = await env.withRuntime(async (ctx) => {
        const warning = backupKeyWarning(ctx.config);
        if (warning) env.io.err(`WARNING: ${warning}`);
        let made: CreatedBackup | undefined;
        let error: unknown;
        try {
          made = await takeBackup(ctx.config, ctx.database, actorRef(actor), (event) =>
            progressLine(env, event),
          );
        } catch (thrown) {
          error = thrown;
        }
        const recorded = runAction(ctx.actionEnv(actor), recordBackupCreated, { made, error });
        if (!made) {
          await recorded.catch(() => {});
          throw error;
        }
        await recorded;
        return made;
      });
      const m = created.manifest;
      const bytes = m.tables.reduce((n, t) => n + t.storedBytes, 0);
      env.io.out(
        `Backup ${created.id}: ${m.tables.length} tables, ${m.tables.reduce((n, t) => n + t.rows, 0)} rows, ` +
          `${humanBytes(bytes)}${m.encryption ? `, encrypted with key ${m.encryption.keyFingerprint}` : ", NOT encrypted"}, in ${created.dir}`,
      );
      if (m.invariants && !m.invariants.ok)
        env.io.out(`WARNING: the invariant scan of this backup found problems (run ${m.invariants.runId}).`);
      env.io.out(`It is untrusted until a drill passes: clubos backup drill ${created.id} --actor NAME`);
      for (const copy of created.copies) {
        env.io.out(
          copy.ok
            ? `Copied to ${copy.location} and verified.`
            : `COPY FAILED to ${copy.location}: ${copy.problems.map((p) => p.message).join(" ")}`,
        );
      }
      if (created.copies.some((c) => !c.ok)) throw new CliExit(1);
    });

  backup
    .command("list")
    .description("List the backups, newest first: size, age, where, checksum state and drill state")
    .option("--json", "print JSON")
    .option("--dir <folder>", "list this folder (e.g. the copy folder) instead of CLUBOS_BACKUP_DIR")
    .action((o: { json?: boolean; dir?: string }) => {
      const dir = folder(env, o.dir);
      const backups = listBackups(dir).map(presentBackup);
      const warning = backupKeyWarning(env.config);
      if (o.json) {
        env.io.out(
          JSON.stringify({ backups, warning, incomplete: incompleteBackups(env.config.backupDir) }, null, 2),
        );
        return;
      }
      if (warning) env.io.err(`WARNING: ${warning}`);
      if (backups.length === 0) env.io.out(`No backups in ${dir}.`);
      for (const b of backups) {
        const where = b.locations.length > 1 ? `${b.locations.length} places` : "1 place";
        env.io.out(
          `${b.id}  ${humanBytes(b.bytes).padStart(9)}  ${humanAge(b.ageSeconds).padStart(7)} old  ${where}  ` +
            `checksum ${b.checksum.state}  drill ${b.drill.state}${b.encrypted ? "" : "  NOT ENCRYPTED"}`,
        );
      }
      for (const partial of incompleteBackups(dir))
        env.io.err(`An interrupted backup left ${partial}: it is not a backup and can be removed.`);
    });

  backup
    .command("verify")
    .description(
      "Check every file of a backup against its manifest, decryption included; exit 1 on any problem",
    )
    .argument("<id>", "the backup (see clubos backup list)")
    .option("--actor <name>", "who runs this (kept in the audit log)")
    .option("--dir <folder>", "the folder holding it (e.g. the copy folder) instead of CLUBOS_BACKUP_DIR")
    .action(async (id: string, o: { actor?: string; dir?: string }) => {
      const actor: Actor = o.actor ? operatorActor(o.actor) : systemActor("cli");
      const result = await env.withRuntime(async (ctx) => {
        const found = findBackup(o.dir ? folder(env, o.dir) : ctx.config.backupDir, id);
        const verified = await verifyBackup(found.dir, backupKey(ctx.config), {
          onProgress: (table, done, total) => env.io.progress(`verifying ${done + 1}/${total}: ${table}`),
        });
        await runAction(ctx.actionEnv(actor), recordBackupVerified, {
          id,
          ok: verified.ok,
          summary: { problems: verified.problems.map((p) => p.message) },
        });
        return verified;
      });
      for (const p of result.problems) env.io.out(`PROBLEM in ${p.file}: ${p.message}`);
      env.io.out(
        result.ok
          ? `Backup ${id} is intact: ${result.tables} files, ${result.rows} rows match the manifest.`
          : `Backup ${id} is DAMAGED: do not rely on it. Follow ${RUNBOOK_VERIFY}.`,
      );
      if (!result.ok) throw new CliExit(1);
    });

  backup
    .command("drill")
    .description(
      "Restore a backup (the newest by default) into a scratch database and run the verification suite",
    )
    .argument("[id]", "the backup (default: the newest)")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (id: string | undefined, o: { actor: string }) => {
      const actor = operatorActor(o.actor);
      const result = await env.withRuntime(async (ctx) => {
        const drilled = await drillOf(ctx.config, actorRef(actor), {
          id,
          onProgress: (step, detail) => env.io.progress(describeDrillStep(step, detail)),
        });
        await runAction(ctx.actionEnv(actor), recordBackupDrilled, {
          id: drilled.id,
          ok: drilled.ok,
          summary: {
            steps: drilled.steps.map((s) => ({ name: s.name, ok: s.ok })),
            scratch: drilled.scratch,
          },
        });
        return drilled;
      });
      for (const s of result.steps) env.io.out(`${s.ok ? "ok    " : "FAILED"} ${s.name}: ${s.detail}`);
      env.io.out(
        result.ok
          ? `Drill of backup ${result.id} passed in ${Math.round(result.durationMs / 1000)} s: it is trusted.`
          : `Drill of backup ${result.id} FAILED: it is not to be relied on. Follow ${RUNBOOK_DRILL}.`,
      );
      if (!result.ok) throw new CliExit(1);
    });

  backup
    .command("delete")
    .description("Delete a backup by hand (audited, with a reason)")
    .argument("<id>", "the backup")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .requiredOption("--reason <text>", "why (kept in the audit log)")
    .action(async (id: string, o: { actor: string; reason: string }) => {
      const actor = operatorActor(o.actor);
      await env.withRuntime(async (ctx) => {
        const found = findBackup(ctx.config.backupDir, id);
        await runAction(ctx.actionEnv(actor), recordBackupDeleted, {
          id,
          reason: o.reason,
          summary: { createdAt: found.createdAt, rows: found.rows, drill: found.drill.state },
        });
        deleteBackup(ctx.config.backupDir, id);
      });
      env.io.out(`Backup ${id} deleted (copies elsewhere are kept).`);
    });

  const key = backup.command("key").description("The backup encryption key");
  key
    .command("create")
    .description("Make a new backup key (base64 of 32 random bytes) and say where to keep it")
    .option("--file <path>", "write it to this file (mode 0600) instead of printing it")
    .action((o: { file?: string }) => {
      const text = generateBackupKey();
      const fingerprint = keyFingerprint(parseBackupKey(text, "the new key"));
      if (o.file) {
        const file = path.resolve(env.cwd ?? process.cwd(), o.file);
        for (const dir of [env.config.backupDir, env.config.dataDir, env.config.backupCopyDir]) {
          if (dir && (file === dir || file.startsWith(dir + path.sep))) {
            env.io.err(
              `Refused: ${file} is inside ${dir}. A key kept beside the backups or the data opens them for anyone who copies that folder.`,
            );
            throw new CliExit(2);
          }
        }
        fs.writeFileSync(file, `${text}\n`, { mode: 0o600, flag: "wx" });
        env.io.out(`Wrote a new backup key (fingerprint ${fingerprint}) to ${file}.`);
        env.io.out(`Set CLUBOS_BACKUP_KEY_FILE=${file} for the server and the clubos command.`);
      } else {
        env.io.out(text);
        env.io.err(`That is a new backup key (fingerprint ${fingerprint}). Set it as CLUBOS_BACKUP_KEY.`);
      }
      env.io.err(
        "Keep a copy of the key somewhere safe OFF this machine (a password manager, a sealed envelope with the club's " +
          "secretary): without it no encrypted backup can be restored. Never keep it in the backup folder or the data folder.",
      );
    });
}
