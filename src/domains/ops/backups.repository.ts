import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The outcomes of the newest backup attempts (scheduled or by hand), newest first, from their audit
 * entries: the record of what happened, never inferred from the absence of an error. */
export async function recentBackupOutcomes(db: Kysely<DB>, limit: number) {
  const { rows } = await sql<{ ok: boolean; at: Date }>`
    SELECT coalesce((after->>'ok')::boolean, false) AS ok, occurred_at AS at
    FROM audit_log WHERE action = 'backup.created'
    ORDER BY seq DESC LIMIT ${limit}`.execute(db);
  return rows;
}
