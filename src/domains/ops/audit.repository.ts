import type { Kysely } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** Filters of the audit log page. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  subject?: string;
  from?: string;
  to?: string;
  beforeSeq?: number;
}

/** A page of audit entries, newest first, filtered. */
export function listAuditEntries(db: Kysely<DB>, filter: AuditFilter, limit = 50) {
  let query = db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").limit(limit);
  if (filter.actor) query = query.where("actor_id", "ilike", `%${escapeLike(filter.actor)}%`);
  if (filter.action) query = query.where("action", "=", filter.action);
  if (filter.subject) query = query.where("subject_id", "=", filter.subject);
  if (filter.from) query = query.where("occurred_at", ">=", new Date(filter.from));
  if (filter.to) query = query.where("occurred_at", "<", new Date(filter.to));
  if (filter.beforeSeq) query = query.where("seq", "<", filter.beforeSeq);
  return query.execute();
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
