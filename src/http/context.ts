import type { FastifyRequest } from "fastify";
import type { ActionEnv } from "../core/action.ts";
import type { Actor } from "../core/actor.ts";
import type { Database } from "../core/db/connect.ts";
import type { ContentVersionsReader } from "../core/db/content-versions.ts";
import type { ModeWatcher } from "../core/modes.ts";

/** How the request proved who it is. */
export interface AuthResult {
  actor: Actor;
  via: "session" | "token" | null;
  /** The raw session token from the cookie, kept only to derive the CSRF token. */
  sessionToken?: string;
  sessionId?: string;
  /** Roles could not be loaded: every capability check denies (S-1, fail closed). */
  permissionsUnavailable?: boolean;
  mustChangePassword?: boolean;
}

/** The deploy record of this process (G14). */
export interface DeployInfo {
  id: string;
  version: string;
  gitCommit: string | null;
  changeClass: string;
  host: string;
  startedAt: Date;
}

/** The settings routes and domains read (a part of the app's configuration). */
export interface SiteSettings {
  clubName: string;
  timeZone: string;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  importRetentionDays: number;
  /** The largest file or image an editor may upload to a page, in bytes. */
  pageFileMaxBytes: number;
  /** Links in mail: the club's address, and how long invitations and password resets work. */
  publicUrl: string;
  invitationDays: number;
  passwordResetMinutes: number;
}

/** The mail dependency as this process sees it (G11): its circuit breaker, and whether it delivers. */
export interface MailDependency {
  /** False without SMTP_URL: messages are kept in the local mailbox, not sent. */
  configured: boolean;
  /** "closed", "open", "half-open", or "no server". */
  breaker(): string;
  /** Whether this process runs the delivery worker (off when `clubos worker` runs it elsewhere). */
  workerRunning(): boolean;
}

/** What HTTP routes and domains may use of a running process: the database, the mode, the settings,
 * and a way to run actions. The app's own context (src/app/context.ts) holds more and satisfies this. */
export interface HttpContext {
  config: SiteSettings;
  database: Database;
  modes: Pick<ModeWatcher, "current" | "refresh" | "databaseReachable" | "alerts">;
  deploy: DeployInfo | null;
  /** The mail dependency; absent in processes that deliver no mail. */
  mail?: MailDependency;
  authenticate(request: FastifyRequest): Promise<AuthResult>;
  /** The content versions, shared by concurrent requests (read through contentVersionsOf, per request). */
  contentVersions: ContentVersionsReader;
  /** Where and as whom an action runs, with the audit sealer hooked to its commit. */
  actionEnv(actor: Actor, requestId?: string): ActionEnv;
}
