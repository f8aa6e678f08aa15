import type { Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of a membership tier's settings (membership_tiers). */

/** Sets the status an approved join application of this tier starts with; undefined when there is no
 * such tier, else what it was before. */
export async function setTierJoinStatus(trx: Transaction<DB>, key: string, status: "pending" | "active") {
  const before = await trx
    .selectFrom("membership_tiers")
    .select("join_status")
    .where("key", "=", key)
    .forUpdate()
    .executeTakeFirst();
  if (!before) return undefined;
  await trx.updateTable("membership_tiers").set({ join_status: status }).where("key", "=", key).execute();
  return { before: before.join_status };
}
