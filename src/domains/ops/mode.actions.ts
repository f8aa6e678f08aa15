import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { invalidInput } from "../../core/errors.ts";
import { isMode, MODES, SWITCHES, type SwitchName } from "../../core/modes.ts";
import { recordDecisionIn, refreshOpsAlerts } from "./incidents.repository.ts";
import { writeMode, writeSwitch } from "./ops.repository.ts";
import { RESTORE_ERRORS } from "./restore.errors.ts";
import { lockOpenRestore } from "./restore.repository.ts";

/** Switches the system mode (O3, D-3): attributed, with a reason, reversible without restart.
 * A recovery action, so it works in read-only mode, which is how read-only mode is left. */
export const setMode = defineAction({
  name: "setMode",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run({ trx, actor, state }, input: { mode: string; reason: string }) {
    const mode = input.mode;
    if (!isMode(mode)) throw invalidInput(`Unknown mode "${mode}". Use one of: ${MODES.join(", ")}.`);
    if (!input.reason?.trim())
      throw invalidInput("A reason is required: it is shown to everyone and kept in the audit log.");
    const reason = input.reason.trim();
    const restore = await lockOpenRestore(trx);
    if (restore) {
      throw RESTORE_ERRORS.restore_awaiting_sign_off(
        `A restore of backup ${restore.backup_id} is ${restore.status === "verified" ? "waiting for sign-off" : `not finished (${restore.status})`}, so the mode stays maintenance. ` +
          "Once it is verified, sign it off with `clubos resume --actor NAME --sign-off` (or on the operator page); a restore that failed verification is replaced by restoring another backup.",
      );
    }
    await writeMode(trx, { mode, reason, changedBy: actorRef(actor) });
    // H-4: the change is a decision on every open incident, in the same transaction; with none open the
    // caller prompts to open one (decisionsOn is empty).
    const decisionsOn = await recordDecisionIn(trx, {
      actor: actorRef(actor),
      action: `mode ${mode}`,
      rationale: reason,
    });
    await refreshOpsAlerts(trx);
    return {
      result: { mode, decisionsOn },
      audit: {
        action: "system.mode_changed",
        subjectType: "system_state",
        subjectId: "1",
        before: { mode: state?.mode ?? "unknown" },
        after: { mode },
        reason,
      },
    };
  },
});

/** Turns a kill switch on or off (publish freeze, admin freeze, preview off). */
export const setSwitch = defineAction({
  name: "setSwitch",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run({ trx, actor, state }, input: { name: string; on: boolean; reason: string }) {
    if (!(SWITCHES as readonly string[]).includes(input.name)) {
      throw invalidInput(`Unknown switch "${input.name}". Use one of: ${SWITCHES.join(", ")}.`);
    }
    if (!input.reason?.trim()) throw invalidInput("A reason is required: it is kept in the audit log.");
    const name = input.name as SwitchName;
    const reason = input.reason.trim();
    await writeSwitch(trx, { name, on: input.on, reason, changedBy: actorRef(actor) });
    const decisionsOn = await recordDecisionIn(trx, {
      actor: actorRef(actor),
      action: `${name} ${input.on ? "on" : "off"}`,
      rationale: reason,
    });
    await refreshOpsAlerts(trx);
    const before = state
      ? {
          publish_freeze: state.publishFreeze,
          admin_freeze: state.adminFreeze,
          preview_off: state.previewOff,
        }[name]
      : null;
    return {
      result: { name, on: input.on, decisionsOn },
      audit: {
        action: "system.switch_changed",
        subjectType: "system_state",
        subjectId: "1",
        before: { [name]: before },
        after: { [name]: input.on },
        reason,
      },
    };
  },
});
