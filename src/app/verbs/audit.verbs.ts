import type { Command } from "commander";
import { anchorAuditChain, sealAuditChain, verifyAuditChain } from "../../core/audit-chain.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";

/** `clubos audit verify` and `clubos audit anchor`. */
export function registerAuditVerbs(audit: Command, env: CliEnv): void {
  audit
    .command("verify")
    .description("Seal pending entries, then recompute the whole chain and check it against the anchors")
    .option("--json", "print the report as JSON")
    .action(async (o: { json?: boolean }) => {
      const report = await env.withRuntime(async (ctx) => {
        await sealAuditChain(ctx.database);
        return verifyAuditChain(ctx.database, ctx.config.backupDir, (seq) =>
          env.io.progress(`verified up to entry ${seq}`),
        );
      });
      if (o.json) env.io.out(JSON.stringify(report, null, 2));
      else {
        env.io.out(
          `${report.entries} entries, ${report.sealed} sealed, ${report.pending} waiting to be sealed, ${report.anchorsChecked} anchors checked.`,
        );
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
    .description("Seal pending entries and append the chain head to the anchor file in the backup folder")
    .action(async () => {
      const anchor = await env.withRuntime(async (ctx) => {
        await sealAuditChain(ctx.database);
        return anchorAuditChain(ctx.database, ctx.config.backupDir);
      });
      env.io.out(anchor ? `Anchored entry ${anchor.seq}: ${anchor.chainHash}` : "Nothing to anchor yet.");
    });
}
