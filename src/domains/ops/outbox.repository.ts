import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";

/** The outbox as admins read it: written only through clubos_outbox_write, with its audit entry. */

/** The statuses an outbox message can have (the table's CHECK). */
export const OUTBOX_STATUSES = ["pending", "sent", "failed", "cancelled"] as const;
/** One outbox status. */
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** Filters of the outbox page. */
export interface OutboxFilter {
  topic?: string;
  status?: OutboxStatus;
}

/** A page of messages, newest first. Keyset paging on (created_at, id): `before` is the id of the last
 * message of the previous page, whose time is read back from its row at full precision. */
export function listOutboxMessages(
  db: Kysely<DB>,
  filter: OutboxFilter,
  before: string | undefined,
  limit: number,
) {
  let query = db
    .selectFrom("outbox")
    .select(["id", "topic", "recipient", "subject", "status", "created_at"])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit);
  if (filter.topic) query = query.where("topic", "=", filter.topic);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (before)
    query = query.where(
      sql`(created_at, id)`,
      "<",
      sql`(SELECT o.created_at, o.id FROM outbox o WHERE o.id = ${before}::uuid)`,
    );
  return query.execute();
}

/** One message with its body and delivery state; undefined for an unknown or malformed id. */
export function findOutboxMessage(db: Kysely<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirst();
}
