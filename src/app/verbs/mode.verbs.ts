import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { readSystemState } from "../../core/modes.ts";
import { setMode, setSwitch } from "../../domains/ops/mode.actions.ts";
import type { CliEnv } from "../cli.ts";

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
      await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), setMode, { mode: value, reason: o.reason }),
      );
      env.io.out(`Mode is now ${value}.`);
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
      await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), setSwitch, {
          name,
          on: state === "on",
          reason: o.reason,
        }),
      );
      env.io.out(`${name} is now ${state}.`);
    });
}
