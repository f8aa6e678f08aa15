import type { Command } from "commander";
import {
  anchorAuditChain,
  installationId,
  type RecordedHead,
  sealAuditChain,
  type VerifyReport,
  verifyAuditChain,
} from "../../core/audit-chain.ts";
import { CORE_ERRORS } from "../../core/errors.ts";
import { recordedHeadsOfBackups } from "../backup-env.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";

const HEAD = /^(\d+):([0-9a-f]{64})(?::(\d+))?$/;

/** `--head SEQ:HASH[:ANCHORS]`, repeatable: a chain head noted elsewhere (an incident record, a
 * backup manifest read by hand). */
function parseHead(value: string, previous: RecordedHead[] = []): RecordedHead[] {
  const m = HEAD.exec(value.trim());
  if (!m) {
    throw CORE_ERRORS.invalid_input(
      `--head must be SEQ:HASH or SEQ:HASH:ANCHORS (a 64-character sha256 in lower case), not "${value}".`,
    );
  }
  const head: RecordedHead = { source: `--head ${m[1]}`, seq: Number(m[1]), hash: m[2]! };
  if (m[3] !== undefined) head.anchorCount = Number(m[3]);
  return [...previous, head];
}

function summary(r: VerifyReport): string[] {
  const head = r.head ? `entry ${r.head.seq}` : "nothing sealed yet";
  const newest = r.newestAnchorSeq === null ? "none" : `entry ${r.newestAnchorSeq}`;
  return [
    `Checked ${r.entries} entries (${r.sealed} sealed, ${r.pending} waiting to be sealed); chain head: ${head}.`,
    `Checked ${r.anchorsChecked} anchors in ${r.anchorFile}; newest anchor: ${newest}.`,
    `Checked ${r.recordedHeadsChecked} recorded heads.`,
  ];
}

/** `clubos audit verify` and `clubos audit anchor`. */
export function registerAuditVerbs(audit: Command, env: CliEnv): void {
  audit
    .command("verify")
    .description(
      "Seal pending entries, then recompute the whole chain and check it against the anchors and the heads recorded by backups (and any --head)",
    )
    .option("--json", "print the report as JSON")
    .option(
      "--head <seq:hash[:anchors]>",
      "also check a chain head recorded elsewhere (repeatable): the chain must still hold it, and the anchor file must hold at least that many anchors",
      parseHead,
    )
    .action(async (o: { json?: boolean; head?: RecordedHead[] }) => {
      const report = await env.withRuntime(async (ctx) => {
        await sealAuditChain(ctx.database, ctx.config.backupDir);
        const fromBackups = recordedHeadsOfBackups(ctx.config, await installationId(ctx.database));
        return verifyAuditChain(ctx.database, ctx.config.backupDir, {
          recordedHeads: [...(o.head ?? []), ...fromBackups],
          onProgress: (seq) => env.io.progress(`verified up to entry ${seq}`),
        });
      });
      if (o.json) env.io.out(JSON.stringify(report, null, 2));
      else {
        for (const line of summary(report)) env.io.out(line);
        for (const p of report.problems) env.io.out(`PROBLEM (${p.kind}): ${p.message}`);
        env.io.out(
          report.ok
            ? "The audit log is intact."
            : "The audit log has been tampered with: treat this as a SEV-1 incident (docs/runbooks/audit-tamper.md).",
        );
      }
      if (!report.ok) throw new CliExit(1);
    });
  audit
    .command("anchor")
    .description(
      "Seal pending entries and append the current chain head to the anchor file in the backup folder (the server does this at every seal; run it by hand only as the runbook says)",
    )
    .action(async () => {
      const anchor = await env.withRuntime(async (ctx) => {
        await sealAuditChain(ctx.database, ctx.config.backupDir);
        return anchorAuditChain(ctx.database, ctx.config.backupDir);
      });
      env.io.out(anchor ? `Anchored entry ${anchor.seq}: ${anchor.chainHash}` : "Nothing to anchor yet.");
    });
}
