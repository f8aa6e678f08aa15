import type { Command } from "commander";
import { migrationStatus, statusLabel } from "../../core/db/migrate.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";
import { migrateSafely } from "../migrate-safely.ts";

/** `clubos migrate` and `clubos migrate --status`. */
export function registerMigrateVerb(command: Command, env: CliEnv): void {
  command
    .option("--status", "only list each migration and SQL function file and whether it is applied")
    .action(async (options: { status?: boolean }) => {
      await env.withRuntime(
        async (ctx) => {
          if (options.status) {
            const statuses = await migrationStatus(ctx.database);
            for (const s of statuses) env.io.out(`${s.state.padEnd(8)} ${statusLabel(s)}`);
            if (statuses.some((s) => s.state === "changed" || s.state === "unknown")) throw new CliExit(1);
            return;
          }
          const run = await migrateSafely(ctx.config, ctx.database);
          if (run.backupId) env.io.out(`Backed up first: backup ${run.backupId}.`);
          env.io.out(
            run.applied.length ? `Applied ${run.applied.join(", ")}.` : "The database is up to date.",
          );
        },
        { forMigrate: true },
      );
    });
}
