import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of previews and scheduled publishing: page_preview_links and page_scheduled_publishes. */

/** A share link that still works (not revoked, not expired), by the hash of its token, with the page and
 * revision it shows; undefined for any other token. */
export function findOpenPreviewLink(db: Kysely<DB>, tokenHash: string) {
  return db
    .selectFrom("page_preview_links")
    .select(["id", "page_id", "revision_id", "expires_at"])
    .where("token_hash", "=", tokenHash)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
}

/** Stores a new share link (only its token's hash). */
export function insertPreviewLink(
  trx: Transaction<DB>,
  link: { pageId: string; revisionId: string; tokenHash: string; createdBy: string; hours: number },
) {
  return trx
    .insertInto("page_preview_links")
    .values({
      page_id: link.pageId,
      revision_id: link.revisionId,
      token_hash: link.tokenHash,
      created_by: link.createdBy,
      expires_at: sql<Date>`now() + make_interval(hours => ${link.hours}::int)`,
    })
    .returning(["id", "expires_at"])
    .executeTakeFirstOrThrow();
}

/** Revokes one open link of a page; undefined when it is not open (or not the page's). */
export function revokePreviewLink(trx: Transaction<DB>, pageId: string, linkId: string, by: string) {
  return trx
    .updateTable("page_preview_links")
    .set({ revoked_at: sql<Date>`now()`, revoked_by: by })
    .where("id", "=", linkId)
    .where("page_id", "=", pageId)
    .where("revoked_at", "is", null)
    .returning(["id", "revision_id"])
    .executeTakeFirst();
}

/** Revokes every link not revoked yet (expired ones too, so nothing is left to wake); how many. */
export async function revokeAllPreviewLinks(trx: Transaction<DB>, by: string): Promise<number> {
  const rows = await trx
    .updateTable("page_preview_links")
    .set({ revoked_at: sql<Date>`now()`, revoked_by: by })
    .where("revoked_at", "is", null)
    .returning("id")
    .execute();
  return rows.length;
}

/** A page's share links, newest first, with the revision number each shows and whether it still works. */
export function previewLinksOf(db: Kysely<DB>, pageId: string) {
  return db
    .selectFrom("page_preview_links as l")
    .innerJoin("page_revisions as r", "r.id", "l.revision_id")
    .select(["l.id", "l.created_at", "l.expires_at", "l.revoked_at", "l.created_by", "r.number"])
    .select(sql<boolean>`l.revoked_at IS NULL AND l.expires_at > now()`.as("open"))
    .where("l.page_id", "=", pageId)
    .orderBy("l.created_at", "desc")
    .limit(50)
    .execute();
}

/** Stores a scheduled publish of a revision. */
export function insertSchedule(
  trx: Transaction<DB>,
  s: { pageId: string; revisionId: string; publishAt: Date; createdBy: string },
) {
  return trx
    .insertInto("page_scheduled_publishes")
    .values({
      page_id: s.pageId,
      revision_id: s.revisionId,
      publish_at: s.publishAt,
      created_by: s.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The page's pending scheduled publish, if any (at most one), locked when asked in a transaction. */
export function pendingScheduleOf(db: Kysely<DB>, pageId: string) {
  return db
    .selectFrom("page_scheduled_publishes")
    .selectAll()
    .where("page_id", "=", pageId)
    .where("status", "=", "pending")
    .executeTakeFirst();
}

/** Ends a pending schedule as done, cancelled or failed; undefined when it was not pending any more. */
export function finishSchedule(
  trx: Transaction<DB>,
  id: string,
  status: "done" | "cancelled" | "failed",
  note = "",
) {
  return trx
    .updateTable("page_scheduled_publishes")
    .set({ status, finished_at: sql<Date>`now()`, note: note.slice(0, 1000) })
    .where("id", "=", id)
    .where("status", "=", "pending")
    .returningAll()
    .executeTakeFirst();
}

/** Pending schedules due at `now`, oldest first. */
export function dueSchedules(db: Kysely<DB>, now: Date, limit = 100) {
  return db
    .selectFrom("page_scheduled_publishes")
    .selectAll()
    .where("status", "=", "pending")
    .where("publish_at", "<=", now)
    .orderBy("publish_at")
    .limit(limit)
    .execute();
}

/** Every pending schedule by page, for the page list. */
export async function pendingSchedules(db: Kysely<DB>): Promise<Map<string, Date>> {
  const rows = await db
    .selectFrom("page_scheduled_publishes")
    .select(["page_id", "publish_at"])
    .where("status", "=", "pending")
    .execute();
  return new Map(rows.map((r) => [r.page_id, new Date(r.publish_at)]));
}
