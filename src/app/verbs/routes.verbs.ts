import type { Command } from "commander";
import { routeTable } from "../../http/routes.ts";
import type { CliEnv } from "../cli.ts";
import type { AppContext } from "../context.ts";
import { buildServer } from "../server.ts";

/** The declared route table, built without opening the database. */
export async function declaredRoutes(config: AppContext["config"]) {
  const app = await buildServer({ config } as AppContext);
  const routes = routeTable(app);
  await app.close();
  return routes;
}

/** `clubos routes [--json]`. */
export function registerRoutesVerbs(program: Command, env: CliEnv): void {
  program
    .command("routes")
    .description("List every route with its capability, load class and degraded behaviour")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const routes = await declaredRoutes(env.config);
      if (o.json) return env.io.out(JSON.stringify(routes, null, 2));
      for (const r of routes) {
        env.io.out(
          `${r.method.padEnd(6)} ${r.url.padEnd(28)} ${r.capability.padEnd(16)} ${r.loadClass.padEnd(8)} read-only:${r.degraded.readOnly} db-down:${r.degraded.databaseDown} frozen-by:${r.degraded.frozenBy}`,
        );
      }
    });
}
