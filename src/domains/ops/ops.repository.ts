import os from "node:os";
import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import type { Mode, SwitchName } from "../../core/modes.ts";

/** The ops domain's SQL for the mode and kill switches (the one system_state row) and the deploy
 * record. Reading the state is core's (readSystemState); changing it is only done here. */

/** Sets the mode, with who changed it and why. */
export async function writeMode(
  db: Kysely<DB>,
  input: { mode: Mode; reason: string; changedBy: string },
): Promise<void> {
  await db
    .updateTable("system_state")
    .set({ mode: input.mode, reason: input.reason, changed_by: input.changedBy, version: sql`version + 1` })
    .where("id", "=", 1)
    .execute();
}

/** Turns one kill switch on or off, with who changed it and why. */
export async function writeSwitch(
  db: Kysely<DB>,
  input: { name: SwitchName; on: boolean; reason: string; changedBy: string },
): Promise<void> {
  await db
    .updateTable("system_state")
    .set({
      [input.name]: input.on,
      reason: input.reason,
      changed_by: input.changedBy,
      version: sql`version + 1`,
    })
    .where("id", "=", 1)
    .execute();
}

/** Records a process start in the deploys table, with this host and Node version. */
export function insertDeploy(
  db: Kysely<DB>,
  input: { version: string; gitCommit: string | null; changeClass: string; processKind: string },
) {
  return db
    .insertInto("deploys")
    .values({
      version: input.version,
      git_commit: input.gitCommit,
      change_class: input.changeClass,
      host: os.hostname(),
      process_kind: input.processKind,
      node_version: process.version,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
