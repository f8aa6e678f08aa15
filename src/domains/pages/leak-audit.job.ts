import type { ActionEnv } from "../../core/action.ts";
import { type Actor, systemActor } from "../../core/actor.ts";
import {
  JOB_MODES,
  type Job,
  type JobConfig,
  type JobContext,
  type JobRun,
  type JobSummary,
} from "../../core/scheduler.ts";
import { LEAK_RUNBOOK, type LeakReport } from "./leak-audit.actions.ts";

/* The leak audit on a schedule (G08). The audit itself renders the site through the app's real routes,
 * so the app gives it (src/app/leak-audit.ts); this job runs it and says what it found. */

const ACTOR: Actor = systemActor("leak-audit");

/** The scheduled leak audit; `audit` renders, compares and records one run. */
export function leakAuditJob<C extends JobConfig>(options: {
  intervalMs: number;
  audit: (
    ctx: JobContext<C>,
    env: ActionEnv,
  ) => Promise<{ report: LeakReport; incidentNumber: number | null }>;
}): Job<C> {
  return {
    name: "pages-leak-audit",
    description:
      "Render every published page, feed, sitemap and search as each audience class; a leak opens a SEV-1 incident",
    intervalMs: options.intervalMs,
    modes: JOB_MODES.normal,
    async run(run: JobRun<C>): Promise<JobSummary> {
      const { report, incidentNumber } = await options.audit(run.ctx, run.ctx.actionEnv(ACTOR, run.runId));
      if (report.ok)
        return {
          changed: 0,
          failed: 0,
          detail: `no leak: ${report.responses} responses to ${report.viewers.length} viewers`,
        };
      return {
        changed: 1,
        failed: 0,
        detail: `LEAK: ${report.findings.length} finding(s); SEV-1 incident INC-${incidentNumber} is open. Follow ${LEAK_RUNBOOK}.`,
      };
    },
  };
}
