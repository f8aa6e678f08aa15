import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The ops domain's SQL for restores (REC-1..REC-4): the restores table, which a restore in place
 * keeps as it is. */

/** Statuses of a restore that is under way or waiting for sign-off (at most one: restores_one_open). */
export const OPEN_RESTORE = ["started", "verifying", "verified", "verification_failed"] as const;

const COLUMNS = [
  "id",
  "backup_id",
  "status",
  "reason",
  "previous_mode",
  "started_by",
  "started_at",
  "pre_restore_backup_id",
  "incident_id",
  "chain_seq",
  "verification",
  "failure",
  "signed_off_by",
  "signed_off_at",
] as const;

/** The restore under way or waiting for sign-off, locked for the caller's transaction; undefined when
 * there is none. */
export function lockOpenRestore(db: Kysely<DB>) {
  return db
    .selectFrom("restores")
    .select(COLUMNS)
    .where("status", "in", [...OPEN_RESTORE])
    .forUpdate()
    .executeTakeFirst();
}

/** The newest restores, newest first (the operator page and `clubos restore status`). */
export function recentRestores(db: Kysely<DB>, limit = 10) {
  return db.selectFrom("restores").select(COLUMNS).orderBy("started_at", "desc").limit(limit).execute();
}

/** A restore by id, or undefined (also for a malformed id). */
export function findRestore(db: Kysely<DB>, id: string) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return Promise.resolve(undefined);
  return db.selectFrom("restores").select(COLUMNS).where("id", "=", id).executeTakeFirst();
}

export function insertRestore(
  db: Kysely<DB>,
  input: { backupId: string; reason: string; previousMode: string; startedBy: string; incidentId: string },
) {
  return db
    .insertInto("restores")
    .values({
      backup_id: input.backupId,
      reason: input.reason,
      previous_mode: input.previousMode,
      started_by: input.startedBy,
      incident_id: input.incidentId,
    })
    .returning(["id", "started_at"])
    .executeTakeFirstOrThrow();
}

/** Changes a restore's status and what goes with it. */
export async function updateRestore(
  db: Kysely<DB>,
  id: string,
  change: {
    status: string;
    preRestoreBackupId?: string | null;
    chainSeq?: number | null;
    verification?: unknown;
    failure?: string | null;
    signedOffBy?: string;
  },
): Promise<void> {
  await db
    .updateTable("restores")
    .set({
      status: change.status,
      ...(change.preRestoreBackupId !== undefined
        ? { pre_restore_backup_id: change.preRestoreBackupId }
        : {}),
      ...(change.chainSeq !== undefined ? { chain_seq: change.chainSeq } : {}),
      ...(change.verification !== undefined ? { verification: JSON.stringify(change.verification) } : {}),
      ...(change.failure !== undefined ? { failure: change.failure } : {}),
      ...(change.signedOffBy ? { signed_off_by: change.signedOffBy, signed_off_at: sql`now()` } : {}),
      version: sql`version + 1`,
    })
    .where("id", "=", id)
    .execute();
}

/** The tables a restore in place leaves as they are (src/core/backup restoreInto's keep): the mode, the
 * incidents with their timelines, the operator alerts and the restores themselves describe the present
 * (the restore under way), not the backup's past. Everything else is the backup's. */
export const KEPT_BY_RESTORE = [
  "system_state",
  "operator_alerts",
  "incidents",
  "incident_entries",
  "restores",
];
