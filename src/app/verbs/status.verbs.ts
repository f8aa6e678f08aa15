import type { Command } from "commander";
import { humanAge } from "../../domains/ops/backups.presenters.ts";
import { BACKUP_JOBS, type BackupJobName } from "../../domains/ops/backups.schemas.ts";
import { walArchiveText } from "../../domains/ops/wal-archive.views.tsx";
import type { CliEnv } from "../cli.ts";
import { type OperatorStatus, operatorStatus } from "../status.ts";

function lines(s: OperatorStatus): string[] {
  const out: string[] = [];
  const state = s.state;
  const switches = state
    ? [
        state.adminFreeze && "admin freeze",
        state.publishFreeze && "publishing freeze",
        state.previewOff && "previews off",
      ].filter(Boolean)
    : [];
  out.push(
    state
      ? `mode: ${state.mode}${state.reason ? ` (${state.reason}, by ${state.changedBy})` : ""}${switches.length ? `; switches on: ${switches.join(", ")}` : ""}`
      : "mode: UNREADABLE: writes are refused until the state can be read",
  );
  out.push(`open incidents: ${s.incidents.length}`);
  for (const i of s.incidents) out.push(`  INC-${i.number} ${i.severity} ${i.title}`);
  out.push(`alerts: ${s.alerts.length}`);
  for (const a of s.alerts) out.push(`  ${a.severity.toUpperCase()} ${a.message}`);
  if (s.backupKeyWarning) out.push(`WARNING: ${s.backupKeyWarning}`);
  const { lastGood, lastDrill } = s.backups;
  out.push(
    lastGood
      ? `last good backup: ${lastGood.id}, ${humanAge(lastGood.ageSeconds)} old (${s.backups.count} backups)`
      : `last good backup: NONE (${s.backups.count} backups): run \`clubos backup create --actor NAME\``,
  );
  out.push(
    lastDrill
      ? `last drill: ${lastDrill.ok ? "passed" : "FAILED"} for ${lastDrill.id}, ${humanAge(lastDrill.ageSeconds)} ago`
      : "last drill: NONE: no backup is trusted; run `clubos backup drill --actor NAME`",
  );
  for (const run of s.runs) {
    const name = BACKUP_JOBS[run.job as BackupJobName] ?? run.job;
    if (run.running) out.push(`running: ${name} (started by ${run.triggeredBy}): ${run.step}`);
    else if (run.interrupted) out.push(`interrupted: the last ${name} stopped at "${run.step}"`);
  }
  const m = s.mail;
  out.push(
    `mail: ${m.status}, breaker ${m.breaker}${m.waiting !== undefined ? `, ${m.waiting} waiting (oldest ${m.oldestWaitingSeconds} s), ${m.deadLetters} dead letters` : ""}${m.lastError ? `; last error: ${m.lastError}` : ""}`,
  );
  out.push(`WAL archiving: ${walArchiveText(s.walArchive)}`);
  const scan = s.invariants;
  out.push(
    !scan
      ? "invariant scan: never run: run `clubos invariants check`"
      : scan.ok
        ? `invariant scan: clean (${scan.finishedAt.toISOString()}, by ${scan.actor})`
        : `invariant scan: VIOLATIONS (${scan.finishedAt.toISOString()}, by ${scan.actor}): ${scan.failed.map((c) => `${c.id} ${c.error ? "could not run" : `${c.violations} rows`}`).join(", ")}`,
  );
  return out;
}

/** `clubos status [--json]`: the operator's one screen (mode, incidents, alerts, backups, mail, WAL
 * archiving, the latest invariant scan). */
export function registerStatusVerb(command: Command, env: CliEnv): void {
  command.option("--json", "print JSON").action(async (o: { json?: boolean }) => {
    const status = await env.withRuntime((ctx) => operatorStatus(ctx));
    if (o.json) env.io.out(JSON.stringify(status, null, 2));
    else for (const line of lines(status)) env.io.out(line);
  });
}
