import type { Command } from "commander";
import type { CliEnv } from "../cli.ts";

/** `clubos serve`. */
export function registerServeVerb(command: Command, env: CliEnv): void {
  command.action(async () => {
    // Imported here, not above: --help lists this verb without loading the server and the database.
    const { startServer } = await import("../serve.ts");
    const server = await startServer(env.config, { log: env.io.out, logger: true });
    await new Promise<void>((resolve) => {
      const shutdown = () => {
        env.io.out("Stopping ClubOS...");
        void server.stop().then(resolve);
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    });
  });
}
