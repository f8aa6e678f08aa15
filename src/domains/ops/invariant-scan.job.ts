import { defineAction, runAction } from "../../core/action.ts";
import { actorRef, systemActor } from "../../core/actor.ts";
import { type CheckResult, type InvariantCheck, runChecks } from "../../core/invariants.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { describeFailedCheck, openOrNoteIncidentIn } from "./incidents.repository.ts";
import { stopWritesIn } from "./stop-writes.ts";

/* The scheduled invariant scan (INV-10): every check, on an interval as well as on demand. A violation
 * found on schedule is a SEV-1: writes stop (read-only, with the violation as the reason) and an
 * incident opens, in one transaction, so the site is never left writable with an unrecorded violation.
 * Nothing is repaired here, and a clean scan closes nothing: a person decides that. */

const ACTOR = systemActor("invariant-scan");
const RUNBOOK = "docs/runbooks/invariant-violation.md";

/** Stops writes for violations the scan found: the SEV-1 incident (or a note on the one the scan already
 * opened and nobody closed), read-only mode, and the decision on every open incident. Audited as the
 * incident it opens and, like any mode change, as system.mode_changed. */
export const stopWritesForViolation = defineAction({
  name: "stopWritesForViolation",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run(scope, input: { runId: string; failed: CheckResult[] }) {
    const { actor } = scope;
    const who = actorRef(actor);
    const ids = input.failed.map((c) => c.id);
    const details = input.failed.map((c) => describeFailedCheck(c)).join("\n");
    const note = `Invariant scan ${input.runId} found violations. Nothing was repaired. Follow ${RUNBOOK}.\n${details}`;
    const { incident, opened, outbox } = await openOrNoteIncidentIn(scope, {
      severity: "SEV-1",
      area: "data",
      title: `Invariant violation: ${ids.join(", ")}`.slice(0, 200),
      openedBy: who,
      note,
    });
    const reason = `Invariant violation found by the scheduled scan (${ids.join(", ")}): writes are stopped until it is reviewed. see incident INC-${incident.number}`;
    await stopWritesIn(scope, reason);
    return {
      result: { incident, opened },
      audit: {
        action: opened ? "incident.opened" : "incident.noted",
        subjectType: "incident",
        subjectId: incident.id,
        after: { number: incident.number, severity: "SEV-1", area: "data", run: input.runId, checks: ids },
        reason,
      },
      outbox,
    };
  },
});

/** The scan job; the checks come from the app (src/app/invariants.ts), which knows every domain. */
export function invariantScanJob(options: { checks: () => InvariantCheck[]; intervalMs: number }): Job {
  return {
    name: "invariant-scan",
    description:
      "Check every data invariant; a violation stops writes (read-only) and opens a SEV-1 incident",
    intervalMs: options.intervalMs,
    modes: JOB_MODES.protective,
    async run(run: JobRun): Promise<JobSummary> {
      const report = await runChecks(run.ctx.database, actorRef(ACTOR), options.checks(), {
        onProgress: (done, total, check) => run.progress(`checked ${done}/${total}: ${check.id}`),
      });
      const violated = report.checks.filter((c) => c.violations > 0);
      // A check that covered less than everything says so in every summary (e.g. the audit chain's
      // incremental re-hash), so a partial pass is never read as a full one.
      const notes = report.checks
        .filter((c) => c.note)
        .map((c) => `; ${c.id} ${c.note}`)
        .join("");
      const broken = report.checks.filter((c) => c.error !== undefined);
      if (violated.length === 0) {
        // A check that could not run proves nothing: the run fails (and is retried), writes go on.
        if (broken.length)
          return {
            changed: 0,
            failed: broken.length,
            detail: `${broken.map((c) => c.id).join(", ")} could not run (run ${report.runId})${notes}`,
          };
        return {
          changed: 0,
          failed: 0,
          detail: `all ${report.checks.length} checks passed (run ${report.runId})${notes}`,
        };
      }
      const env = run.ctx.actionEnv(ACTOR, run.runId);
      const { incident } = await runAction(env, stopWritesForViolation, {
        runId: report.runId,
        failed: violated,
      });
      return {
        changed: 1,
        failed: 0,
        detail:
          `VIOLATION in ${violated.map((c) => c.id).join(", ")} (run ${report.runId}): the site is now read-only ` +
          `and SEV-1 incident INC-${incident.number} is open. Follow ${RUNBOOK}.${notes}`,
      };
    },
  };
}
