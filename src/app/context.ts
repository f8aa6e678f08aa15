import type { FastifyRequest } from "fastify";
import type { ActionEnv } from "../core/action.ts";
import type { Actor } from "../core/actor.ts";
import type { AuditSealer } from "../core/audit-sealer.ts";
import type { Database } from "../core/db/connect.ts";
import type { ModeWatcher } from "../core/modes.ts";
import type { AuthResult } from "../http/request-context.ts";
import type { Config } from "./config.ts";

/** The deploy record of this process (G14). */
export interface DeployInfo {
  id: string;
  version: string;
  gitCommit: string | null;
  changeClass: string;
  host: string;
  startedAt: Date;
}

/** Everything a running ClubOS process shares: one per process, built by openRuntime. */
export interface AppContext {
  config: Config;
  database: Database;
  modes: ModeWatcher;
  sealer: AuditSealer;
  deploy: DeployInfo | null;
  authenticate(request: FastifyRequest): Promise<AuthResult>;
  /** Where and as whom an action runs, with the sealer hooked to its commit. */
  actionEnv(actor: Actor, requestId?: string): ActionEnv;
}
