import fs from "node:fs";
import type { CliEnv } from "./cli.ts";
import { endOutputQuietly, terminalIO } from "./cli-io.ts";
import { loadConfig } from "./config.ts";
import { controlSocketPath, runThroughControlSocket } from "./control.ts";
import { lockHolder } from "./data-lock.ts";

// The modules above are all a verb sent to the running server needs: the commander program, the verbs,
// the database engine and the web server are imported below only by the calls that use them.

// Verbs that never open the database, so they never need the running server.
const LOCAL_ONLY = new Set(["serve", "routes", "guarantees", "help", "--help", "-h"]);

async function main(argv: string[]): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    terminalIO.err((error as Error).message);
    return 2;
  }
  const verb = argv[0];
  const embedded = !config.databaseUrl;
  if (
    embedded &&
    verb &&
    !LOCAL_ONLY.has(verb) &&
    !argv.includes("--help") &&
    lockHolder(config.dataDir) !== null
  ) {
    if (fs.existsSync(controlSocketPath(config.dataDir))) {
      try {
        return await runThroughControlSocket(config.dataDir, argv, terminalIO);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        terminalIO.err(
          `The running ClubOS server holds ${config.dataDir}, but its control socket could not be reached (${code ?? "unknown error"}). ` +
            (code === "EACCES"
              ? "Run this command as the user that runs the server."
              : "Check that the server is healthy, or stop it and run the command again."),
        );
        return 2;
      }
    }
  }
  const env: CliEnv = {
    io: terminalIO,
    config,
    cwd: process.cwd(),
    async withRuntime(fn, options) {
      const { openRuntime } = await import("./runtime.ts");
      const runtime = await openRuntime(config, {
        migrations: options?.forMigrate ? "none" : "require-current",
      });
      try {
        return await fn(runtime);
      } finally {
        await runtime.close();
      }
    },
  };
  const { runCli } = await import("./cli.ts");
  return runCli(argv.length ? argv : ["--help"], env);
}

endOutputQuietly();
process.exitCode = await main(process.argv.slice(2));
