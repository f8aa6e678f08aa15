import type { Actor } from "../../core/actor.ts";

/** A backup the restore page offers, newest first. */
export interface RestorableBackup {
  id: string;
  createdAt: string;
  ageSeconds: number;
  rows: number;
  drill: "untrusted" | "passed" | "failed";
}

/** The restore this process runs or ran last, as the page shows it while it runs. */
export interface RestoreRun {
  backupId: string;
  startedBy: string;
  running: boolean;
  lines: string[];
  error: string | null;
}

/** What the restore page needs from the app, which owns the configuration (backup folder, key): the
 * backups to choose from, and the restore itself, run in the background so the page can follow it. */
export interface RestoreRunner {
  backups(): RestorableBackup[];
  /** Starts the restore, or throws (restore_in_progress) when this process runs one already. */
  start(actor: Actor, input: { id: string; reason: string }): void;
  current(): RestoreRun | null;
}
