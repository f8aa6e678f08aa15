import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of the club's settings (migration 0026): one row that admins change in the UI. */

/** The club's settings as they are now. */
export async function readClubSettings(db: Kysely<DB>): Promise<{ joinFormOpen: boolean }> {
  const row = await db.selectFrom("club_settings").select("join_form_open").executeTakeFirst();
  return { joinFormOpen: row?.join_form_open ?? false };
}

/** Opens or closes the join form, under the row's lock; returns what it was before. */
export async function setJoinFormOpen(trx: Transaction<DB>, open: boolean): Promise<{ before: boolean }> {
  const before = await trx
    .selectFrom("club_settings")
    .select("join_form_open")
    .forUpdate()
    .executeTakeFirstOrThrow();
  await trx.updateTable("club_settings").set({ join_form_open: open, updated_at: sql`now()` }).execute();
  return { before: before.join_form_open };
}
