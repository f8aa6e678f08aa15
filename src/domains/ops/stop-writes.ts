import type { ActionScope } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { writeAuditEntry } from "../../core/audit.ts";
import { recordDecisionIn, refreshOpsAlerts } from "./incidents.repository.ts";
import { writeMode } from "./ops.repository.ts";

/** Turns on read-only mode inside the caller's action (an incident declared with "stop all writes", a
 * violation the scheduled scan found): the mode, the decision on every open incident, the alerts, and
 * the system.mode_changed entry any mode change has. */
export async function stopWritesIn(scope: ActionScope, reason: string): Promise<void> {
  const { trx, actor, state } = scope;
  const who = actorRef(actor);
  await writeMode(trx, { mode: "read-only", reason, changedBy: who });
  await recordDecisionIn(trx, { actor: who, action: "mode read-only", rationale: reason });
  await refreshOpsAlerts(trx);
  await writeAuditEntry(trx, scope, {
    action: "system.mode_changed",
    subjectType: "system_state",
    subjectId: "1",
    before: { mode: state?.mode ?? "unknown" },
    after: { mode: "read-only" },
    reason,
  });
}
