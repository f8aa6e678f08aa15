import type { OutboxDraft } from "../../core/action.ts";
import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { clearAlert, raiseAlert } from "../../core/alerts.ts";
import { pagesLeakFindings } from "../../core/metrics.ts";
import { openOrNoteIncidentIn } from "../ops/incidents.repository.ts";
import { insertLeakAudit } from "./pages.repository.ts";

/* The record of a leak audit run (G08). A finding is something the public site served to a viewer its
 * audience rules exclude: it raises the operator alert and opens a SEV-1 publishing incident (or notes
 * the run on the one the audit opened and nobody closed yet), in the transaction that records the run.
 * A clean run clears the alert and closes nothing: a person decides when the incident is over. */

export const LEAK_RUNBOOK = "docs/runbooks/publishing-freeze.md";
export const LEAK_ALERT = "pages.leak";
/** How many findings a run keeps in its row (the report printed by the CLI has them all). */
const KEPT = 100;

/** One thing served to a viewer the rules exclude. */
export interface LeakFinding {
  /** The sample viewer: "anonymous", or the audience class it stands for ("status active", "tier family"). */
  viewer: string;
  /** The address asked for. */
  surface: string;
  /** The page (its slug) or block (slug#position) that leaked. */
  subject: string;
  problem: string;
}

/** A run's result. */
export interface LeakReport {
  ok: boolean;
  viewers: string[];
  responses: number;
  findings: LeakFinding[];
}

/** Records a leak audit run; on any finding raises the alert and opens (or notes) the incident. */
export const recordLeakAudit = defineAction({
  name: "recordLeakAudit",
  access: { capability: "system:operate" },
  // Detection must be recorded whatever the mode: a leak found while writes are stopped still counts.
  effect: "recovery",
  async run(scope, input: { report: LeakReport }) {
    const { trx, actor } = scope;
    const { report } = input;
    const who = actorRef(actor);
    let outbox: OutboxDraft[] = [];
    const run = await insertLeakAudit(trx, {
      ranBy: who,
      viewers: report.viewers.length,
      responses: report.responses,
      findings: report.findings.length,
      report: report.findings.slice(0, KEPT),
    });
    let incidentNumber: number | null = null;
    if (report.findings.length) {
      const subjects = [...new Set(report.findings.map((f) => f.subject))];
      const lines = report.findings
        .slice(0, 20)
        .map((f) => `- ${f.viewer} at ${f.surface}: ${f.subject}: ${f.problem}`);
      const opening = await openOrNoteIncidentIn(scope, {
        severity: "SEV-1",
        area: "publishing",
        title: `Published content leaked to viewers it excludes: ${subjects.join(", ")}`.slice(0, 200),
        openedBy: who,
        note: `Leak audit ${run.id} found ${report.findings.length} finding(s). Follow ${LEAK_RUNBOOK}.\n${lines.join("\n")}`,
      });
      const { incident } = opening;
      outbox = opening.outbox;
      incidentNumber = incident.number;
      await raiseAlert(trx, {
        key: LEAK_ALERT,
        severity: "critical",
        message:
          `The leak audit found published content shown to people it is not for (${subjects.length} page(s) or block(s)). ` +
          `See incident INC-${incident.number}, run "clubos pages leak-audit" for the list and follow ${LEAK_RUNBOOK}.`,
        link: "/admin/incidents",
      });
    } else await clearAlert(trx, LEAK_ALERT);
    pagesLeakFindings.set(report.findings.length);
    return {
      result: { id: run.id, incidentNumber },
      audit: {
        action: "pages.leak_audit_ran",
        subjectType: "page_leak_audit",
        subjectId: run.id,
        after: {
          findings: report.findings.length,
          responses: report.responses,
          viewers: report.viewers.length,
        },
      },
      outbox,
    };
  },
});
