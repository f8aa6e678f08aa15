import type { Command } from "commander";
import { operatorActor, systemActor } from "../../core/actor.ts";
import { LEAK_RUNBOOK } from "../../domains/pages/leak-audit.actions.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";
import { auditAndRecord } from "../leak-audit.ts";

/** `clubos pages leak-audit`: renders the published site as every audience class, records the run, and
 * exits 1 on any finding (a leak also opens a SEV-1 publishing incident and raises the operator alert). */
export function registerPagesVerbs(pages: Command, env: CliEnv): void {
  pages
    .command("leak-audit")
    .description(
      "Render every published page, block, feed, sitemap, search and listing as an anonymous visitor and as a " +
        "sample member of each audience class; report anything shown to someone the rules exclude; exit 1 on any",
    )
    .option("--json", "print the report as JSON")
    .option("--actor <name>", "who runs this (kept with the run)")
    .action(async (o: { json?: boolean; actor?: string }) => {
      const actor = o.actor ? operatorActor(o.actor) : systemActor("cli");
      const { report, incidentNumber } = await env.withRuntime((ctx) =>
        auditAndRecord(ctx, ctx.actionEnv(actor)),
      );
      if (o.json) env.io.out(JSON.stringify({ ...report, incident: incidentNumber }, null, 2));
      else {
        for (const f of report.findings)
          env.io.out(`LEAK ${f.viewer} at ${f.surface}: ${f.subject}: ${f.problem}`);
        env.io.out(
          report.ok
            ? `No leak: ${report.responses} responses to ${report.viewers.length} viewers (${report.viewers.join(", ")}).`
            : `LEAK: ${report.findings.length} finding(s); SEV-1 incident INC-${incidentNumber} is open. ` +
                `Follow ${LEAK_RUNBOOK}.`,
        );
      }
      if (!report.ok) throw new CliExit(1);
    });
}
