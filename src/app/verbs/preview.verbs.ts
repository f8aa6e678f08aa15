import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { revokeAllPreviewLinksAction } from "../../domains/pages/preview.actions.ts";
import type { CliEnv } from "../cli.ts";

/** `clubos preview revoke-all`. */
export function registerPreviewVerbs(preview: Command, env: CliEnv): void {
  preview
    .command("revoke-all")
    .description("Revoke every preview share link at once (audited); editors can make new ones")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .option("--reason <text>", "why (kept in the audit log)", "revoke-all from the command line")
    .action(async (o: { actor: string; reason: string }) => {
      const r = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), revokeAllPreviewLinksAction, { reason: o.reason }),
      );
      env.io.out(`Revoked ${r.count} preview link(s). Every share link now shows an error page.`);
    });
}
