import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of the login data retention: throttles and remembered browsers nobody has used for long. */

/** Throttles whose last counted attempt is older than `before`, or that count nothing (a settled
 * throttle: no row and such a row slow a login down alike). */
const staleThrottles = (before: Date) =>
  sql<boolean>`(last_failure_at IS NULL OR last_failure_at < ${before})`;

/** Deletes the stale throttles; returns how many went. */
export async function deleteThrottlesBefore(trx: Transaction<DB>, before: Date): Promise<number> {
  const rows = await trx
    .deleteFrom("login_throttles")
    .where(staleThrottles(before))
    .returning("key")
    .execute();
  return rows.length;
}

/** Deletes remembered browsers last used before `before`: such a browser signs in like a new one. */
export async function deleteDevicesBefore(trx: Transaction<DB>, before: Date): Promise<number> {
  const rows = await trx
    .deleteFrom("login_devices")
    .where("last_used_at", "<", before)
    .returning("token_hash")
    .execute();
  return rows.length;
}

/** Deletes the sign-in history (login_attempts) older than `before`: it is what lets an address that
 * signed in before past a throttle, kept as long as a remembered browser. */
export async function deleteAttemptsBefore(trx: Transaction<DB>, before: Date): Promise<number> {
  const rows = await trx.deleteFrom("login_attempts").where("at", "<", before).returning("id").execute();
  return rows.length;
}

/** How many throttles, browsers and sign-in history rows the retention would delete. */
export async function countStaleLoginData(
  db: Kysely<DB>,
  cutoffs: { throttles: Date; devices: Date },
): Promise<number> {
  const row = await sql<{ n: number }>`
    SELECT (SELECT count(*) FROM login_throttles WHERE ${staleThrottles(cutoffs.throttles)})
         + (SELECT count(*) FROM login_devices WHERE last_used_at < ${cutoffs.devices})
         + (SELECT count(*) FROM login_attempts WHERE at < ${cutoffs.devices}) AS n`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}
