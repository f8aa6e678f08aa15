import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { termIsCurrent } from "../committees/committees.repository.ts";

/** The members domain's SQL. */

/** Columns a member may see and change about themselves. */
export const SELF_FIELDS = ["name", "phone", "address", "directory_opt_out"] as const;
/** Columns an admin may change with members:write (status has its own action). */
export const ADMIN_FIELDS = [
  ...SELF_FIELDS,
  "email",
  "joined_on",
  "tier_key",
  "renewal_due_on",
  "admin_notes",
] as const;
/** A field an admin may edit. */
export type AdminField = (typeof ADMIN_FIELDS)[number];

/** One member by id, undeleted unless asked. */
export function findMember(db: Kysely<DB>, id: string, includeDeleted = false) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  let query = db.selectFrom("members").selectAll().where("id", "=", id);
  if (!includeDeleted) query = query.where("deleted_at", "is", null);
  return query.executeTakeFirst();
}

/** Filters and paging of the admin member list. */
export interface MemberListQuery {
  search?: string;
  status?: string;
  /** List deleted members instead of current ones (to find one to restore). */
  deleted?: boolean;
  tier?: string;
  /** Only members serving on this committee now (a current term, any role). */
  committeeId?: string;
  sort: "name" | "joined";
  /** Keyset cursor: the last row of the previous page. */
  after?: { key: string; id: string };
  limit: number;
}

/** A page of the admin list, keyset-paginated so it stays fast at 100,000 members. */
export function listMembers(db: Kysely<DB>, q: MemberListQuery) {
  const joined = q.sort === "joined";
  const sortKey = joined ? sql<string>`joined_on` : sql<string>`lower(name)`;
  let query = db
    .selectFrom("members")
    .select(["id", "name", "email", "status", "tier_key", "joined_on", "renewal_due_on", "version"])
    .select((joined ? sql<string>`joined_on::text` : sortKey).as("sort_key"))
    .where("deleted_at", q.deleted ? "is not" : "is", null)
    .orderBy(sortKey)
    .orderBy("id")
    .limit(q.limit);
  if (q.search) {
    const like = `%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([eb(sql`lower(name)`, "like", like), eb(sql`lower(email)`, "like", like)]),
    );
  }
  if (q.status) query = query.where("status", "=", q.status);
  if (q.tier) query = query.where("tier_key", "=", q.tier);
  // Driven from the committee's memberships (few rows) rather than filtering every member.
  if (q.committeeId) query = query.where("id", "in", currentCommitteeMembers(db, q.committeeId));
  if (q.after) {
    const key = joined ? sql`${q.after.key}::date` : sql`${q.after.key}`;
    query = query.where(sql`(${sortKey}, id)`, ">", sql`(${key}, ${q.after.id}::uuid)`);
  }
  return query.execute();
}

/** Ids of members serving on a committee now (a current term, any role). */
function currentCommitteeMembers(db: Kysely<DB>, committeeId: string) {
  return db
    .selectFrom("committee_memberships as cm")
    .select("cm.member_id")
    .where("cm.committee_id", "=", committeeId)
    .where(termIsCurrent("cm"));
}

/** The member directory: active members who did not opt out, by name; optionally only those serving
 * on a committee now (a current term, any role). */
export function directory(db: Kysely<DB>, search: string | undefined, limit = 100, committeeId?: string) {
  let query = db
    .selectFrom("members")
    .select(["id", "name", "email", "phone"])
    .where("deleted_at", "is", null)
    .where("status", "=", "active")
    .where("directory_opt_out", "=", false)
    .orderBy(sql`lower(name)`)
    .orderBy("id")
    .limit(limit);
  if (search)
    query = query.where(
      sql`lower(name)`,
      "like",
      `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
    );
  if (committeeId) query = query.where("id", "in", currentCommitteeMembers(db, committeeId));
  return query.execute();
}

/** A member's status history, oldest first. */
export function statusHistory(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("member_status_history")
    .selectAll()
    .where("member_id", "=", memberId)
    .orderBy("changed_at")
    .execute();
}

/** The tiers, by name. */
export function listTiers(db: Kysely<DB>) {
  return db.selectFrom("membership_tiers").selectAll().orderBy("name").execute();
}
