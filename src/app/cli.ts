import { Command, CommanderError } from "commander";
import { ClubError } from "../core/errors.ts";
import { CliExit, type CliIO } from "./cli-io.ts";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";
import { registerAdminVerbs } from "./verbs/admin.verbs.ts";
import { registerAuditVerbs } from "./verbs/audit.verbs.ts";
import { registerGuaranteesVerbs } from "./verbs/guarantees.verbs.ts";
import { registerInvariantsVerbs } from "./verbs/invariants.verbs.ts";
import { registerJobsVerbs } from "./verbs/jobs.verbs.ts";
import { registerMembersVerbs } from "./verbs/members.verbs.ts";
import { registerMigrateVerbs } from "./verbs/migrate.verbs.ts";
import { registerModeVerbs } from "./verbs/mode.verbs.ts";
import { registerRoutesVerbs } from "./verbs/routes.verbs.ts";

/** What every verb gets: where to write, the configuration and a runtime to work in. */
export interface CliEnv {
  io: CliIO;
  config: Config;
  /** The caller's working folder: relative file paths resolve against it, also inside the server. */
  cwd?: string;
  /** Runs fn with a runtime: the server's own when the verb came through the control socket,
   * otherwise one opened for the verb and closed after it. */
  withRuntime<T>(fn: (ctx: AppContext) => Promise<T>, options?: { forMigrate?: boolean }): Promise<T>;
}

/** A hook for verbs added by other modules (serve, invariants, guarantees). */
export type VerbRegistrar = (program: Command, env: CliEnv) => void;

const registrars: VerbRegistrar[] = [
  registerMigrateVerbs,
  registerAdminVerbs,
  registerModeVerbs,
  registerAuditVerbs,
  registerInvariantsVerbs,
  registerJobsVerbs,
  registerRoutesVerbs,
  registerGuaranteesVerbs,
  registerMembersVerbs,
];

/** Adds verbs from another module; call before runCli. */
export function addVerbs(registrar: VerbRegistrar): void {
  if (!registrars.includes(registrar)) registrars.push(registrar);
}

/** Builds the commander program writing to env.io. */
export function buildProgram(env: CliEnv): Command {
  const program = new Command("clubos")
    .description("ClubOS: the club platform that cannot silently lose, corrupt or leak the club's data.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => env.io.out(s.trimEnd()), writeErr: (s) => env.io.err(s.trimEnd()) })
    .showHelpAfterError();
  for (const register of registrars) register(program, env);
  for (const command of program.commands) inheritOutput(command, program);
  return program;
}

function inheritOutput(command: Command, parent: Command): void {
  command.exitOverride().configureOutput(parent.configureOutput()).showHelpAfterError();
  for (const sub of command.commands) inheritOutput(sub, command);
}

/** Runs argv (without node and script) and returns the exit code; errors become clear messages. */
export async function runCli(argv: string[], env: CliEnv): Promise<number> {
  const program = buildProgram(env);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CliExit) return error.code;
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ClubError) {
      env.io.err(`${error.message} [${error.code}]`);
      return 2;
    }
    env.io.err(error instanceof Error ? error.message : String(error));
    return 1;
  }
}
