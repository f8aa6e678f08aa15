import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { readSystemState } from "../../core/modes.ts";
import type { IncidentRef } from "../../domains/ops/incidents.repository.ts";
import { setMode, setSwitch } from "../../domains/ops/mode.actions.ts";
import type { CliEnv } from "../cli.ts";

/** Where a change was recorded (H-4), or the prompt to open an incident when none is open. */
function decisionLine(env: CliEnv, on: IncidentRef[]): void {
  if (on.length) env.io.out(`Recorded as a decision on ${on.map((i) => `INC-${i.number}`).join(", ")}.`);
  else
    env.io.out(
      "No incident is open, so this change is only in the audit log. If something is wrong, open one: " +
        '`clubos incident open --severity SEV-2 --title "..." --actor NAME`.',
    );
}

/** `clubos mode show|set|switch`. */
export function registerModeVerbs(mode: Command, env: CliEnv): void {
  mode
    .command("show")
    .description("Show the mode and kill switches")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const state = await env.withRuntime((ctx) => readSystemState(ctx.database.db));
      if (o.json) return env.io.out(JSON.stringify(state));
      env.io.out(`mode: ${state.mode}`);
      env.io.out(`admin freeze: ${state.adminFreeze ? "on" : "off"}`);
      env.io.out(`publish freeze: ${state.publishFreeze ? "on" : "off"}`);
      env.io.out(`preview off: ${state.previewOff ? "on" : "off"}`);
      env.io.out(
        `last change: ${state.changedAt.toISOString()} by ${state.changedBy}${state.reason ? `: ${state.reason}` : ""}`,
      );
    });
  mode
    .command("set")
    .description(
      "Set the mode: normal, read-only or maintenance (takes effect on every server within 2 seconds)",
    )
    .argument("<mode>", "normal, read-only or maintenance")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .requiredOption("--reason <text>", "why (shown in the banner and kept in the audit log)")
    .action(async (value: string, o: { actor: string; reason: string }) => {
      const r = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), setMode, { mode: value, reason: o.reason }),
      );
      env.io.out(`Mode is now ${value}.`);
      decisionLine(env, r.decisionsOn);
    });
  mode
    .command("switch")
    .description("Turn a kill switch on or off: admin_freeze, publish_freeze, preview_off")
    .argument("<name>", "admin_freeze, publish_freeze or preview_off")
    .argument("<state>", "on or off")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .requiredOption("--reason <text>", "why (kept in the audit log)")
    .action(async (name: string, state: string, o: { actor: string; reason: string }) => {
      if (state !== "on" && state !== "off") throw new Error("The state must be 'on' or 'off'.");
      const r = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), setSwitch, {
          name,
          on: state === "on",
          reason: o.reason,
        }),
      );
      env.io.out(`${name} is now ${state}.`);
      decisionLine(env, r.decisionsOn);
    });
}
