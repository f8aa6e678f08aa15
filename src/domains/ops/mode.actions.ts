import { sql } from "kysely";
import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { invalidInput } from "../../core/errors.ts";
import { isMode, MODES, SWITCHES, type SwitchName } from "../../core/modes.ts";

/** Switches the system mode (O3, D-3): attributed, with a reason, reversible without restart.
 * A recovery action, so it works in read-only mode, which is how read-only mode is left. */
export const setMode = defineAction({
  name: "setMode",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run({ trx, actor, state }, input: { mode: string; reason: string }) {
    if (!isMode(input.mode))
      throw invalidInput(`Unknown mode "${input.mode}". Use one of: ${MODES.join(", ")}.`);
    if (!input.reason?.trim())
      throw invalidInput("A reason is required: it is shown to everyone and kept in the audit log.");
    await trx
      .updateTable("system_state")
      .set({
        mode: input.mode,
        reason: input.reason.trim(),
        changed_by: actorRef(actor),
        version: sql`version + 1`,
      })
      .where("id", "=", 1)
      .execute();
    return {
      result: { mode: input.mode },
      audit: {
        action: "system.mode_changed",
        subjectType: "system_state",
        subjectId: "1",
        before: { mode: state?.mode ?? "unknown" },
        after: { mode: input.mode },
        reason: input.reason.trim(),
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
    await trx
      .updateTable("system_state")
      .set({
        [name]: input.on,
        reason: input.reason.trim(),
        changed_by: actorRef(actor),
        version: sql`version + 1`,
      })
      .where("id", "=", 1)
      .execute();
    const before = state
      ? {
          publish_freeze: state.publishFreeze,
          admin_freeze: state.adminFreeze,
          preview_off: state.previewOff,
        }[name]
      : null;
    return {
      result: { name, on: input.on },
      audit: {
        action: "system.switch_changed",
        subjectType: "system_state",
        subjectId: "1",
        before: { [name]: before },
        after: { [name]: input.on },
        reason: input.reason.trim(),
      },
    };
  },
});
