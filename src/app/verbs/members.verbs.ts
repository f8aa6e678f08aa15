import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { inviteMember, linkSettingsOf } from "../../domains/identity/account-links.actions.ts";
import { findMemberByEmail } from "../../domains/identity/identity.repository.ts";
import {
  applierFor,
  confirmImport,
  type ImportProgress,
  resumeImport,
} from "../../domains/members/import/apply.ts";
import { decodeCsvBytes } from "../../domains/members/import/csv.ts";
import { planMemberImport } from "../../domains/members/import/import.actions.ts";
import { IMPORT_ERRORS } from "../../domains/members/import/import.errors.ts";
import type { ImportResult } from "../../domains/members/import/import.repository.ts";
import { type ImportPlan, planImport } from "../../domains/members/import/plan.ts";
import { exportMembers } from "../../domains/members/members.export.ts";
import type { CliEnv } from "../cli.ts";
import type { CliIO } from "../cli-io.ts";
import { CliExit } from "../cli-io.ts";

// Relative paths resolve against the caller's folder, also when the verb runs inside the server.
function readFile(cwd: string, file: string): Buffer {
  const full = path.resolve(cwd, file);
  try {
    return fs.readFileSync(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw IMPORT_ERRORS.file_unreadable(
      `Cannot read ${full} (${code}). Check the path; while the server runs, give the file's full path.`,
    );
  }
}

function printPlan(io: CliIO, plan: ImportPlan): void {
  for (const row of plan.rows) {
    if (row.outcome === "unchanged") continue;
    const detail =
      row.outcome === "reject"
        ? row.reason
        : Object.entries(row.changes ?? {})
            .map(([f, v]) => `${f}=${JSON.stringify(v)}`)
            .join(" ");
    io.out(`line ${row.line}: ${row.outcome} ${row.email || "(no email)"}: ${detail}`);
  }
  if (plan.ignoredColumns.length) io.out(`Ignored columns: ${plan.ignoredColumns.join(", ")}`);
  const c = plan.counts;
  io.out(
    `${plan.rows.length} rows: ${c.create} to create, ${c.update} to update, ${c.unchanged} unchanged, ${c.reject} rejected.`,
  );
}

const resumeHint = (id: string, actor: string) =>
  `clubos members resume ${id} --actor ${JSON.stringify(actor)}`;

const progressTo =
  (io: CliIO): ImportProgress =>
  (done, total, n) =>
    io.progress(
      `Applied ${done} of ${total} rows: ${n.created} created, ${n.updated} updated, ${n.conflict} conflicts, ${n.failed} failed`,
    );

/** The rows not applied, then the counts; exit 1 if any row was not applied. */
function reportResult(io: CliIO, id: string, result: ImportResult): void {
  for (const row of result.rows) {
    if (row.outcome === "conflict" || row.outcome === "failed")
      io.err(`line ${row.line}: ${row.outcome} ${row.email}: ${row.message ?? ""}`);
  }
  const n = result.counts;
  io.out(
    `Import ${id} applied: ${n.created} created, ${n.updated} updated, ${n.unchanged} unchanged, ${n.conflict} conflicts, ${n.failed} failed.`,
  );
  if (n.conflict + n.failed > 0) throw new CliExit(1);
}

/** `clubos members import FILE` (dry run, then apply), `clubos members resume ID` and `clubos members export`. */
export function registerMembersVerbs(members: Command, env: CliEnv): void {
  members
    .command("import")
    .description("Import members from a CSV file (ClubOS or Wild Apricot columns), matched by email")
    .argument("<file>", "the CSV file, saved as UTF-8")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .option("--dry-run", "only show what would change")
    .action(async (file: string, o: { actor: string; dryRun?: boolean }) => {
      const actor = operatorActor(o.actor);
      const text = decodeCsvBytes(readFile(env.cwd ?? process.cwd(), file));
      await env.withRuntime(async (ctx) => {
        const plan = await planImport(ctx.database.db, text, path.basename(file));
        printPlan(env.io, plan);
        if (o.dryRun) return env.io.out("Dry run: nothing was changed.");
        if (plan.counts.reject > 0) {
          env.io.err("Nothing was imported: fix the rejected rows and run the import again.");
          throw new CliExit(2);
        }
        if (plan.counts.create + plan.counts.update === 0)
          return env.io.out("Nothing to import: every member in the file is up to date.");
        const actionEnv = ctx.actionEnv(actor);
        const { importId: id } = await runAction(actionEnv, planMemberImport, { plan });
        env.io.out(`Import ${id}: applying. If it is cut off, resume it with: ${resumeHint(id, o.actor)}`);
        const { result } = await confirmImport(applierFor(actionEnv), id, plan.fileHash, progressTo(env.io));
        reportResult(env.io, id, result);
      });
    });
  members
    .command("resume")
    .description("Resume a member import cut off while applying (a restart, read-only mode, an error)")
    .argument("<import-id>", "the import's id, printed when it started")
    .requiredOption("--actor <name>", "who started the import (only they can resume it)")
    .action(async (importId: string, o: { actor: string }) => {
      const actor = operatorActor(o.actor);
      await env.withRuntime(async (ctx) => {
        const applier = applierFor(ctx.actionEnv(actor));
        const { result, replayed } = await resumeImport(applier, importId, progressTo(env.io));
        if (replayed) env.io.out(`Import ${importId} was already applied; nothing was changed.`);
        reportResult(env.io, importId, result);
      });
    });
  members
    .command("export")
    .description("Export the member list as CSV (recorded in the audit log)")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .option("--out <file>", "write to this file (mode 0600) instead of standard output")
    .action(async (o: { actor: string; out?: string }) => {
      const actor = operatorActor(o.actor);
      const { csv, count } = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(actor), exportMembers, {}),
      );
      if (!o.out) return env.io.out(csv.replace(/\r\n$/, ""));
      const full = path.resolve(env.cwd ?? process.cwd(), o.out);
      fs.writeFileSync(full, csv, { mode: 0o600 });
      env.io.out(`Exported ${count} members to ${full}.`);
    });
  members
    .command("invite")
    .description(
      "Invite a member to choose a password and sign in (prints the link when no mail server is set)",
    )
    .option("--email <address>", "the member's email")
    .option("--id <member-id>", "the member's id")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (o: { email?: string; id?: string; actor: string }) => {
      const actor = operatorActor(o.actor);
      if (Boolean(o.email) === Boolean(o.id)) {
        env.io.err("Name the member with --email or with --id (one of the two).");
        throw new CliExit(2);
      }
      await env.withRuntime(async (ctx) => {
        const memberId = o.id ?? (await findMemberByEmail(ctx.database.db, o.email!))?.id;
        if (!memberId) {
          env.io.err(`No member has the email ${o.email}. Check the address, or add the member first.`);
          throw new CliExit(1);
        }
        const issued = await runAction(ctx.actionEnv(actor), inviteMember, {
          memberId,
          settings: linkSettingsOf(ctx.config, ctx.mail.configured),
        });
        if (issued.link) {
          env.io.out(
            `Not sent: no mail server is configured (SMTP_URL). Give ${issued.name} this link yourself;`,
          );
          env.io.out(`it is shown only this once and works once, until ${issued.expiresAt.toISOString()}:`);
          env.io.out(issued.link);
        } else {
          env.io.out(
            `Invitation sent by mail to ${issued.email}; the link works until ${issued.expiresAt.toISOString()}.`,
          );
        }
        if (issued.replaced > 0) env.io.out("The earlier invitation link no longer works.");
      });
    });
}
