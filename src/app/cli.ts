import { Command, CommanderError } from "commander";
import { ClubError } from "../core/errors.ts";
import { CliExit, type CliIO } from "./cli-io.ts";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";

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

/** Declares a top-level verb's options, sub-commands and action on its command. */
export type VerbRegistrar = (command: Command, env: CliEnv) => void;

/** A top-level verb: its name and line in --help, and the module that declares the rest. */
export interface Verb {
  name: string;
  description: string;
  load(): Promise<VerbRegistrar>;
}

/** Every top-level verb, in the order --help lists them. A call loads only the module of the verb it
 * names (a script calling `clubos mode show` 300 times should not load the whole program each time),
 * and `clubos --help` none. */
export const VERBS: readonly Verb[] = [
  {
    name: "migrate",
    description:
      "Apply pending database migrations (forward-only) and changed SQL functions, or show their status",
    load: async () => (await import("./verbs/migrate.verbs.ts")).registerMigrateVerb,
  },
  {
    name: "admin",
    description: "Administrator access: create, or recover when locked out",
    load: async () => (await import("./verbs/admin.verbs.ts")).registerAdminVerbs,
  },
  {
    name: "token",
    description: "Personal API tokens for the JSON API",
    load: async () => (await import("./verbs/admin.verbs.ts")).registerTokenVerbs,
  },
  {
    name: "roles",
    description: "Role assignments",
    load: async () => (await import("./verbs/admin.verbs.ts")).registerRolesVerbs,
  },
  {
    name: "mode",
    description: "The system mode (normal, read-only, maintenance) and kill switches",
    load: async () => (await import("./verbs/mode.verbs.ts")).registerModeVerbs,
  },
  {
    name: "audit",
    description: "The append-only, hash-chained audit log",
    load: async () => (await import("./verbs/audit.verbs.ts")).registerAuditVerbs,
  },
  {
    name: "incident",
    description: "Incidents, their timeline and decision log, and the owner of each critical area",
    load: async () => (await import("./verbs/incident.verbs.ts")).registerIncidentVerbs,
  },
  {
    name: "invariants",
    description: "The data invariant scanner (INV-10)",
    load: async () => (await import("./verbs/invariants.verbs.ts")).registerInvariantsVerbs,
  },
  {
    name: "backup",
    description: "Backups: create, list, verify, drill (restore into a scratch database) and the key",
    load: async () => (await import("./verbs/backup.verbs.ts")).registerBackupVerbs,
  },
  {
    name: "restore",
    description: "Restore a backup over the club's data (typed confirmation; writes stay off until sign-off)",
    load: async () => (await import("./verbs/restore.verbs.ts")).registerRestoreVerb,
  },
  {
    name: "resume",
    description: "Sign off a verified restore and turn writes back on",
    load: async () => (await import("./verbs/restore.verbs.ts")).registerResumeVerb,
  },
  {
    name: "jobs",
    description: "Scheduled jobs (run by the server on their intervals)",
    load: async () => (await import("./verbs/jobs.verbs.ts")).registerJobsVerbs,
  },
  {
    name: "routes",
    description: "List every route with its capability, policy, action, load class and degraded behaviour",
    load: async () => (await import("./verbs/routes.verbs.ts")).registerRoutesVerb,
  },
  {
    name: "guarantees",
    description: "List the reliability guarantees G01..G17, whether each is enforced, and how",
    load: async () => (await import("./verbs/guarantees.verbs.ts")).registerGuaranteesVerb,
  },
  {
    name: "members",
    description:
      "The member list as CSV: import (and resume an interrupted one) and export; invite a member to sign in",
    load: async () => (await import("./verbs/members.verbs.ts")).registerMembersVerbs,
  },
  {
    name: "mail",
    description: "Mail delivery: send a test message, show the queue, retry a dead-lettered message",
    load: async () => (await import("./verbs/mail.verbs.ts")).registerMailVerbs,
  },
  {
    name: "worker",
    description: "Run the outbox delivery worker alone (SMTP_URL, MAIL_FROM), until stopped",
    load: async () => (await import("./verbs/mail.verbs.ts")).registerWorkerVerb,
  },
  {
    name: "status",
    description:
      "One screen for the operator: mode, incidents, alerts, backups, drills, mail, WAL archive, invariants",
    load: async () => (await import("./verbs/status.verbs.ts")).registerStatusVerb,
  },
  {
    name: "preview",
    description: "Page preview share links: revoke every one at once (after a leak)",
    load: async () => (await import("./verbs/preview.verbs.ts")).registerPreviewVerbs,
  },
  {
    name: "serve",
    description: "Run the ClubOS web server (PORT, DATABASE_URL and the other settings in README.md)",
    load: async () => (await import("./verbs/serve.verbs.ts")).registerServeVerb,
  },
  {
    name: "pages",
    description: "The published site: audit every page, feed, sitemap and search for leaks (leak-audit)",
    load: async () => (await import("./verbs/pages.verbs.ts")).registerPagesVerbs,
  },
];

/** Builds the commander program writing to env.io. Given the call's argv, only the verb it names is
 * declared in full (`clubos help mode` names mode); without, every verb is. */
export async function buildProgram(env: CliEnv, argv?: readonly string[]): Promise<Command> {
  const named = argv?.[0] === "help" ? argv[1] : argv?.[0];
  const program = new Command("clubos")
    .description("ClubOS: the club platform that cannot silently lose, corrupt or leak the club's data.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => env.io.out(s.trimEnd()), writeErr: (s) => env.io.err(s.trimEnd()) })
    .showHelpAfterError();
  for (const verb of VERBS) {
    const command = program.command(verb.name).description(verb.description);
    if (!argv || verb.name === named) (await verb.load())(command, env);
  }
  for (const command of program.commands) inheritOutput(command, program);
  return program;
}

function inheritOutput(command: Command, parent: Command): void {
  command.exitOverride().configureOutput(parent.configureOutput()).showHelpAfterError();
  for (const sub of command.commands) inheritOutput(sub, command);
}

/** Runs argv (without node and script) and returns the exit code; errors become clear messages. */
export async function runCli(argv: string[], env: CliEnv): Promise<number> {
  const program = await buildProgram(env, argv);
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
