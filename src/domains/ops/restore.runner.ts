import type { Actor } from "../../core/actor.ts";

/** A backup the restore page offers, newest first. */
export interface RestorableBackup {
  id: string;
  createdAt: string;
  ageSeconds: number;
  rows: number;
  drill: "untrusted" | "passed" | "failed";
}

/** The job_progress row every restore keeps current (the CLI's and the page's alike), so the restore
 * page of any server shows a restore another process runs. job_progress is kept by the restore. */
export const RESTORE_PROGRESS_JOB = "restore";

/** What the restore page needs from the app, which owns the configuration (backup folder, key): the
 * backups to choose from, and the restore itself, run in the background so the page can follow it
 * (its progress is in job_progress under RESTORE_PROGRESS_JOB). */
export interface RestoreRunner {
  backups(): RestorableBackup[];
  /** Starts the restore, or throws (restore_in_progress) when one is running already. */
  start(actor: Actor, input: { id: string; reason: string }): Promise<void>;
}
