import type { Command } from "commander";
import { actorRef, operatorActor } from "../../core/actor.ts";
import { type CheckResult, SAMPLE_LIMIT } from "../../core/invariants.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";
import { runInvariantChecks } from "../invariants.ts";

const RUNBOOK = "docs/runbooks/invariant-violation.md";
// How many sample violations a check prints in text mode; --json carries the whole sample.
const PRINTED = 10;

function printCheck(env: CliEnv, check: CheckResult): void {
  const status = check.error
    ? "COULD NOT RUN"
    : check.violations === 0
      ? "ok"
      : `${check.violations} violation(s)`;
  env.io.out(`${check.id} (${check.rule}): ${status} - ${check.description}`);
  if (check.error) env.io.out(`  error: ${check.error}`);
  for (const v of check.sample.slice(0, PRINTED))
    env.io.out(`  ${v.subject_type} ${v.subject_id}: ${v.detail}`);
  if (check.violations > PRINTED)
    env.io.out(`  ... and ${check.violations - PRINTED} more (--json lists up to ${SAMPLE_LIMIT})`);
}

/** `clubos invariants check`: runs the invariant scanner (INV-10) and exits 1 on any violation. */
export function registerInvariantsVerbs(invariants: Command, env: CliEnv): void {
  invariants
    .command("check")
    .description("Check every data invariant, record the run in invariant_runs, exit 1 on any violation")
    .option("--json", "print the report as JSON")
    .option("--actor <name>", "who runs this (kept with the run)")
    .action(async (o: { json?: boolean; actor?: string }) => {
      const actor = o.actor ? actorRef(operatorActor(o.actor)) : "system:cli";
      const report = await env.withRuntime((ctx) =>
        runInvariantChecks(ctx.database, actor, {
          onProgress: (done, total, check) => env.io.progress(`checked ${done}/${total}: ${check.id}`),
        }),
      );
      if (o.json) env.io.out(JSON.stringify(report, null, 2));
      else {
        for (const check of report.checks) printCheck(env, check);
        env.io.out(
          report.ok
            ? `All ${report.checks.length} invariant checks passed (run ${report.runId}).`
            : `INVARIANT VIOLATION (run ${report.runId}): this is a SEV-1 incident (INV-10). ` +
                `Do not repair automatically; follow ${RUNBOOK}.`,
        );
      }
      if (!report.ok) throw new CliExit(1);
    });
}
