import { type Kysely, sql } from "kysely";
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

// An id stored as text, as a uuid when it is one (so the join uses the primary key), else null.
const asUuid = (column: string) =>
  sql<string>`CASE WHEN ${sql.ref(column)} ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN ${sql.ref(column)}::uuid END`;

/** A page of audit entries, newest first, filtered, with the names of the people and things they are
 * about (the member who acted; the member, event, committee or incident changed), read in the same
 * statement: one join per kind over the page's rows, not a query per row. */
export function listAuditEntries(db: Kysely<DB>, filter: AuditFilter, limit = 50) {
  return db
    .selectFrom(auditPage(db, filter, limit).as("a"))
    .leftJoin("members as am", (j) =>
      j.on(sql<boolean>`a.actor_type = 'member'`).on("am.id", "=", sql<string>`${asUuid("a.actor_member")}`),
    )
    .leftJoin("members as sm", (j) =>
      j.on(sql<boolean>`a.subject_type = 'member'`).on("sm.id", "=", sql<string>`${asUuid("a.subject_id")}`),
    )
    .leftJoin("events as se", (j) =>
      j.on(sql<boolean>`a.subject_type = 'event'`).on("se.id", "=", sql<string>`${asUuid("a.subject_id")}`),
    )
    .leftJoin("committees as sc", (j) =>
      j
        .on(sql<boolean>`a.subject_type = 'committee'`)
        .on("sc.id", "=", sql<string>`${asUuid("a.subject_id")}`),
    )
    .leftJoin("incidents as si", (j) =>
      j
        .on(sql<boolean>`a.subject_type = 'incident'`)
        .on("si.id", "=", sql<string>`${asUuid("a.subject_id")}`),
    )
    .select([
      "a.seq",
      "a.occurred_at",
      "a.actor_type",
      "a.actor_id",
      "a.action",
      "a.subject_type",
      "a.subject_id",
      "a.reason",
      "am.name as actor_name",
      sql<string | null>`coalesce(sm.name, se.title, sc.name, 'INC-' || si.number || ' ' || si.title)`.as(
        "subject_name",
      ),
    ])
    .orderBy("a.seq", "desc")
    .execute();
}

function auditPage(db: Kysely<DB>, filter: AuditFilter, limit: number) {
  let query = db
    .selectFrom("audit_log")
    .select([
      "seq",
      "occurred_at",
      "actor_type",
      "actor_id",
      "action",
      "subject_type",
      "subject_id",
      "reason",
      sql<string>`substr(actor_id, 8)`.as("actor_member"),
    ])
    .orderBy("seq", "desc")
    .limit(limit);
  if (filter.actor) query = query.where("actor_id", "ilike", `%${escapeLike(filter.actor)}%`);
  if (filter.action) query = query.where("action", "=", filter.action);
  if (filter.subject) query = query.where("subject_id", "=", filter.subject);
  if (filter.from) query = query.where("occurred_at", ">=", new Date(filter.from));
  if (filter.to) query = query.where("occurred_at", "<", new Date(filter.to));
  if (filter.beforeSeq) query = query.where("seq", "<", filter.beforeSeq);
  return query;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
