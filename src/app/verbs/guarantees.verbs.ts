import type { Command } from "commander";
import { guarantees } from "../../guarantees/registry.ts";
import type { CliEnv } from "../cli.ts";

/** `clubos guarantees [--json]`: the guarantee matrix with each row's status (docs/GUARANTEES.md). */
export function registerGuaranteesVerb(command: Command, env: CliEnv): void {
  command.option("--json", "print JSON").action((o: { json?: boolean }) => {
    if (o.json) return env.io.out(JSON.stringify(guarantees, null, 2));
    for (const g of guarantees) {
      env.io.out(`${g.id}  ${g.status.padEnd(8)}  ${g.title}`);
      if (g.status === "planned") {
        if (g.notes) env.io.out(`      planned: ${g.notes}`);
        continue;
      }
      for (const m of g.mechanisms)
        env.io.out(`      enforced by: ${m.file}${m.symbol ? ` ${m.symbol}` : ""}`);
      for (const d of g.detection) {
        env.io.out(
          `      detected by: ${d.kind === "cli" || d.kind === "scan" ? "clubos " : ""}${d.reference}`,
        );
      }
      for (const r of g.recovery) {
        const how = [r.cliVerb && `clubos ${r.cliVerb}`, r.runbook].filter(Boolean).join(", ");
        env.io.out(`      recovered by: ${how || r.description}`);
      }
    }
    const enforced = guarantees.filter((g) => g.status === "enforced").length;
    env.io.out(`${enforced} of ${guarantees.length} guarantees enforced. Details: docs/GUARANTEES.md`);
  });
}
