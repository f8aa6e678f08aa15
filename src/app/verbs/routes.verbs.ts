import type { Command } from "commander";
import { type RouteListing, routeTable } from "../../http/routes.ts";
import type { CliEnv } from "../cli.ts";
import type { AppContext } from "../context.ts";

/** The declared route table, built without opening the database. */
export async function declaredRoutes(config: AppContext["config"]) {
  // Imported here, not above: --help lists this verb without loading the web server.
  const { buildServer } = await import("../server.ts");
  const app = await buildServer({ config } as AppContext);
  const routes = routeTable(app);
  await app.close();
  return routes;
}

/** One route on one line: who may use it (capability and policy), what it runs (action and effect),
 * its load class and what it does when things are not normal. */
export function routeLine(r: RouteListing): string {
  const action = r.action ? `${r.action} effect:${r.effect}` : "-";
  return [
    r.method.padEnd(6),
    r.url.padEnd(44),
    r.capability.padEnd(16),
    r.loadClass.padEnd(8),
    `read-only:${r.degraded.readOnly.padEnd(7)}`,
    `db-down:${r.degraded.databaseDown.padEnd(6)}`,
    `frozen-by:${r.degraded.frozenBy.padEnd(14)}`,
    `policy:${r.policy ?? "-"}`,
    `action:${action}`,
  ].join(" ");
}

/** `clubos routes [--json]`. */
export function registerRoutesVerb(command: Command, env: CliEnv): void {
  command.option("--json", "print JSON").action(async (o: { json?: boolean }) => {
    const routes = await declaredRoutes(env.config);
    if (o.json) return env.io.out(JSON.stringify(routes, null, 2));
    for (const r of routes) env.io.out(routeLine(r));
  });
}
