import { type Kysely, sql, type Transaction } from "kysely";
import type { Actor } from "../../core/actor.ts";
import { contentVersionOf } from "../../core/db/content-versions.ts";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { termIsCurrent, termsChangeAt } from "../committees/committees.repository.ts";
import { roleKeysOfMembersRow, roleKeysOfMembersRowChangeAt } from "../identity/identity.repository.ts";
import { hasMemberRights } from "../members/members.repository.ts";
import type { Viewer } from "./audience.ts";
import { copyFiles } from "./page-files.repository.ts";

/** The publishing domain's SQL: pages, page_revisions, page_blocks, and the viewer facts audiences read. */

/** A json_agg list as the driver gives it: both drivers parse json, text is read defensively. A jsonb
 * column is never passed through here: a stored JSON string must stay a string (it is no rule). */
function parsedList<T>(value: unknown): T[] {
  const list = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(list) ? (list as T[]) : [];
}

/** The facts an audience rule may ask about the actor, read once per request in one statement. A member
 * whose facts cannot be read is "unknown" (sees public content only, R-1); a deleted one is anonymous. */
export async function viewerOf(db: Kysely<DB>, actor: Actor): Promise<Viewer> {
  return (await viewerRead(db, actor)).viewer;
}

/** viewerOf's facts with what decides how long they hold: the access version of the snapshot they were
 * read in, the database time of the read, and when a role or committee term next begins or ends (until
 * then the clock alone changes nothing). Only a member's facts read whole carry a version. */
export async function viewerRead(
  db: Kysely<DB>,
  actor: Actor,
): Promise<{ viewer: Viewer; kept?: { accessVersion: string; readAt: Date; until: Date | null } }> {
  if (actor.type !== "member") return { viewer: { kind: "anonymous" } };
  try {
    // Roles as identity counts them (only a member whose status has the member rights holds any);
    // committee places that are current.
    const row = await db
      .selectFrom("members")
      .select(["members.id", "members.status", "members.tier_key", "members.deleted_at"])
      .select(
        sql<string[]>`coalesce((SELECT array_agg(DISTINCT cm.committee_id::text) FROM committee_memberships cm
          WHERE cm.member_id = members.id AND ${termIsCurrent("cm")}), '{}')`.as("committees"),
      )
      .select(roleKeysOfMembersRow().as("roles"))
      .select(hasMemberRights().as("member_rights"))
      .select(sql<Date>`now()`.as("now"))
      .select(contentVersionOf("access").as("access_version"))
      .select(
        sql<Date | null>`least(${roleKeysOfMembersRowChangeAt()}, ${termsChangeAt("committee_memberships", "members.id")})`.as(
          "changes_at",
        ),
      )
      .where("members.id", "=", actor.memberId)
      .executeTakeFirst();
    const kept = row && { accessVersion: row.access_version, readAt: row.now, until: row.changes_at };
    if (!row || row.deleted_at) return { viewer: { kind: "anonymous" }, kept };
    return {
      viewer: {
        kind: "member",
        memberId: row.id,
        status: row.status,
        memberRights: row.member_rights === true,
        tier: row.tier_key,
        committees: new Set(row.committees),
        roles: new Set(row.roles),
      },
      kept,
    };
  } catch {
    return { viewer: { kind: "unknown" } };
  }
}

/** One block as stored. */
export interface BlockRow {
  id: string;
  revision_id: string;
  position: number;
  type: string;
  audience: unknown;
  data: unknown;
}

const blocksOf = (revisionRef: ReturnType<typeof sql.ref>) =>
  sql<BlockRow[]>`coalesce((SELECT json_agg(json_build_object('id', b.id, 'revision_id', b.revision_id,
    'position', b.position, 'type', b.type, 'audience', b.audience, 'data', b.data) ORDER BY b.position)
    FROM page_blocks b WHERE b.revision_id = ${revisionRef}), '[]'::json)`;

/** Published pages (p) joined to their current published revision (r): where every public reader
 * starts, so none can reach a draft or an older revision. */
export function publishedRevisions(db: Kysely<DB>) {
  return db
    .selectFrom("pages as p")
    .innerJoin("page_revisions as r", "r.id", "p.current_published_revision_id")
    .where("p.status", "=", "published")
    .where("r.frozen", "=", true);
}

/** Published revisions with their blocks in order, in one round trip: the one query of every reader that
 * renders or decides on blocks (page, feed, search, leak audit, JSON API). Read rows through withBlocks. */
function publishedWithBlocks(db: Kysely<DB>) {
  return publishedRevisions(db).select(blocksOf(sql.ref("r.id")).as("blocks"));
}

/** A row of publishedWithBlocks with its blocks parsed and its audience left for the audience rules. */
function withBlocks<T extends { audience: unknown; blocks: unknown }>(row: T) {
  return { ...row, audience: row.audience as unknown, blocks: parsedList<BlockRow>(row.blocks) };
}

/** What a reader of a published page gets of the page and its current revision. */
export const PUBLISHED_PAGE_COLUMNS = [
  "p.id",
  "p.slug",
  "p.kind",
  "p.published_on",
  "r.id as revision_id",
  "r.number",
  "r.title",
  "r.summary",
  "r.audience",
  "r.published_at",
] as const;

/** A published page with its current revision and that revision's blocks, in one round trip; undefined
 * when no published page has this slug. Nothing else than the current published revision is ever read. */
export async function findPublishedPage(db: Kysely<DB>, slug: string) {
  const row = await publishedWithBlocks(db)
    .select(PUBLISHED_PAGE_COLUMNS)
    .where("p.slug", "=", slug)
    .executeTakeFirst();
  return row && withBlocks(row);
}
export type PublishedPage = NonNullable<Awaited<ReturnType<typeof findPublishedPage>>>;

/** The published pages placed in the navigation, with their revision's audience, in menu order. */
export async function navigationPages(db: Kysely<DB>) {
  const rows = await publishedRevisions(db)
    .select(["p.id", "p.slug", "p.nav_parent_id", "p.nav_order", "r.title", "r.audience"])
    .where("p.nav_order", "is not", null)
    .orderBy("p.nav_order")
    .orderBy("p.slug")
    .execute();
  return rows;
}

/** Published news posts, newest first, with what a listing shows and the audience it is shown under. */
export async function publishedNews(db: Kysely<DB>, limit = 200) {
  const rows = await publishedRevisions(db)
    .select(["p.id", "p.slug", "p.published_on", "r.title", "r.summary", "r.audience", "r.published_at"])
    .where("p.kind", "=", "news")
    .orderBy("p.published_on", "desc")
    .orderBy("r.published_at", "desc")
    .limit(limit)
    .execute();
  return rows;
}

/** Every page for the editor's list: its state, current published revision and draft. */
export function listPagesForEditor(db: Kysely<DB>) {
  return db
    .selectFrom("pages as p")
    .leftJoin("page_revisions as cur", "cur.id", "p.current_published_revision_id")
    .leftJoin("page_revisions as d", (join) =>
      join.onRef("d.page_id", "=", "p.id").on("d.frozen", "=", false),
    )
    .select([
      "p.id",
      "p.slug",
      "p.kind",
      "p.status",
      "p.nav_order",
      "p.updated_at",
      "cur.number as published_number",
      "d.number as draft_number",
    ])
    .select(
      sql<string>`coalesce(d.title, cur.title, (SELECT r.title FROM page_revisions r WHERE r.page_id = p.id
        ORDER BY r.number DESC LIMIT 1))`.as("title"),
    )
    .orderBy(sql`p.status = 'archived'`)
    .orderBy("p.slug")
    .execute();
}

/** One page row, or undefined (malformed ids included). */
export function findPage(db: Kysely<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return db.selectFrom("pages").selectAll().where("id", "=", id).executeTakeFirst();
}
export type PageRow = NonNullable<Awaited<ReturnType<typeof findPage>>>;

/** One page, locked for the rest of the transaction: every change to a page or its draft takes it. */
export function lockPage(trx: Transaction<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return trx.selectFrom("pages").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
}

/** True when another page has this slug. */
export async function slugTaken(db: Kysely<DB>, slug: string, exceptId?: string): Promise<boolean> {
  let q = db.selectFrom("pages").select("id").where("slug", "=", slug);
  if (exceptId) q = q.where("id", "!=", exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** A new page with its first (draft) revision. */
export async function insertPage(
  trx: Transaction<DB>,
  values: { slug: string; kind: string; title: string; createdBy: string },
) {
  const page = await trx
    .insertInto("pages")
    .values({ slug: values.slug, kind: values.kind, created_by: values.createdBy })
    .returningAll()
    .executeTakeFirstOrThrow();
  const revision = await trx
    .insertInto("page_revisions")
    .values({ page_id: page.id, number: 1, title: values.title, created_by: values.createdBy })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { page, revision };
}

/** One revision of a page by id, or undefined. */
export function findRevision(db: Kysely<DB>, pageId: string, revisionId: string) {
  return db
    .selectFrom("page_revisions")
    .selectAll()
    .where("page_id", "=", pageId)
    .where("id", "=", revisionId)
    .executeTakeFirst();
}
export type RevisionRow = NonNullable<Awaited<ReturnType<typeof findRevision>>>;

/** One revision of a page by its number, or undefined. */
export function revisionNumbered(db: Kysely<DB>, pageId: string, number: number) {
  return db
    .selectFrom("page_revisions")
    .selectAll()
    .where("page_id", "=", pageId)
    .where("number", "=", number)
    .executeTakeFirst();
}

/** The page's draft, if it has one (at most one: page_revisions_one_draft). */
export function draftOf(db: Kysely<DB>, pageId: string) {
  return db
    .selectFrom("page_revisions")
    .selectAll()
    .where("page_id", "=", pageId)
    .where("frozen", "=", false)
    .executeTakeFirst();
}

/** The newest frozen revision of the page (what a new draft copies when nothing is published). */
export function latestFrozen(db: Kysely<DB>, pageId: string) {
  return db
    .selectFrom("page_revisions")
    .selectAll()
    .where("page_id", "=", pageId)
    .where("frozen", "=", true)
    .orderBy("number", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** A revision's blocks in order. */
export function blocksOfRevision(db: Kysely<DB>, revisionId: string): Promise<BlockRow[]> {
  return db
    .selectFrom("page_blocks")
    .selectAll()
    .where("revision_id", "=", revisionId)
    .orderBy("position")
    .execute();
}

/** One block with the page it belongs to, or undefined. */
export function findBlock(db: Kysely<DB>, blockId: string) {
  if (!UUID.test(blockId)) return Promise.resolve(undefined);
  return db
    .selectFrom("page_blocks as b")
    .innerJoin("page_revisions as r", "r.id", "b.revision_id")
    .select([
      "b.id",
      "b.revision_id",
      "b.position",
      "b.type",
      "b.audience",
      "b.data",
      "r.page_id",
      "r.frozen",
    ])
    .where("b.id", "=", blockId)
    .executeTakeFirst();
}

/** A new revision copied from another (title, summary, audience and every block), numbered next. */
export async function copyRevision(trx: Transaction<DB>, from: RevisionRow, createdBy: string) {
  const next = await trx
    .selectFrom("page_revisions")
    .select(sql<number>`coalesce(max(number), 0) + 1`.as("n"))
    .where("page_id", "=", from.page_id)
    .executeTakeFirstOrThrow();
  const revision = await trx
    .insertInto("page_revisions")
    .values({
      page_id: from.page_id,
      number: next.n,
      title: from.title,
      summary: from.summary,
      audience: JSON.stringify(from.audience),
      based_on_revision_id: from.id,
      created_by: createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await sql`INSERT INTO page_blocks (revision_id, position, type, audience, data)
    SELECT ${revision.id}, position, type, audience, data FROM page_blocks WHERE revision_id = ${from.id}`.execute(
    trx,
  );
  await copyFiles(trx, from.id, revision.id);
  return revision;
}

/** Sets a draft's title and summary. */
export function updateRevisionText(trx: Transaction<DB>, revisionId: string, title: string, summary: string) {
  return trx
    .updateTable("page_revisions")
    .set({ title, summary })
    .where("id", "=", revisionId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Sets a draft's audience. */
export function updateRevisionAudience(trx: Transaction<DB>, revisionId: string, audience: unknown) {
  return trx
    .updateTable("page_revisions")
    .set({ audience: JSON.stringify(audience) })
    .where("id", "=", revisionId)
    .executeTakeFirstOrThrow();
}

/** Appends a block to a revision. */
export async function appendBlock(
  trx: Transaction<DB>,
  revisionId: string,
  block: { type: string; data: unknown; audience?: unknown },
) {
  return trx
    .insertInto("page_blocks")
    .values({
      revision_id: revisionId,
      position: sql<number>`(SELECT coalesce(max(position), 0) + 1 FROM page_blocks WHERE revision_id = ${revisionId})`,
      type: block.type,
      data: JSON.stringify(block.data),
      audience:
        block.audience === undefined || block.audience === null ? null : JSON.stringify(block.audience),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Replaces a block's data. */
export function updateBlockData(trx: Transaction<DB>, blockId: string, data: unknown) {
  return trx
    .updateTable("page_blocks")
    .set({ data: JSON.stringify(data) })
    .where("id", "=", blockId)
    .executeTakeFirstOrThrow();
}

/** Sets (or, with null, clears) a block's own audience. */
export function updateBlockAudience(trx: Transaction<DB>, blockId: string, audience: unknown) {
  return trx
    .updateTable("page_blocks")
    .set({ audience: audience === null ? null : JSON.stringify(audience) })
    .where("id", "=", blockId)
    .executeTakeFirstOrThrow();
}

/** Swaps two places of a revision (the position constraint is checked at commit). */
export async function swapPositions(trx: Transaction<DB>, revisionId: string, a: number, b: number) {
  await sql`UPDATE page_blocks SET position = CASE position WHEN ${a}::int THEN ${b}::int ELSE ${a}::int END
    WHERE revision_id = ${revisionId} AND position IN (${a}::int, ${b}::int)`.execute(trx);
}

/** Removes a block and closes the gap it leaves, so places stay 1..n (INV-5). */
export async function deleteBlock(
  trx: Transaction<DB>,
  block: { id: string; revision_id: string; position: number },
) {
  await trx.deleteFrom("page_blocks").where("id", "=", block.id).execute();
  await trx
    .updateTable("page_blocks")
    .set({ position: sql`position - 1` })
    .where("revision_id", "=", block.revision_id)
    .where("position", ">", block.position)
    .execute();
}

/** Freezes a draft as published: its content hash (clubos_page_content_hash), when and by whom. */
export function freezeRevision(trx: Transaction<DB>, revisionId: string, by: string) {
  return trx
    .updateTable("page_revisions")
    .set({
      frozen: true,
      content_hash: sql`clubos_page_content_hash(id)`,
      published_at: sql`now()`,
      published_by: by,
    })
    .where("id", "=", revisionId)
    .where("frozen", "=", false)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Moves the page's version on with any changes of its own row (W-4): every change to the page or its
 * draft goes through here, so a form read before it is stale. */
export function touchPage(
  trx: Transaction<DB>,
  pageId: string,
  values: Partial<{
    status: string;
    current_published_revision_id: string | null;
    published_on: string | null;
    slug: string;
    nav_order: number | null;
    nav_parent_id: string | null;
  }> = {},
) {
  return trx
    .updateTable("pages")
    .set({ ...values, version: sql`version + 1` })
    .where("id", "=", pageId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The club's today, for a news post's date. */
export async function today(db: Kysely<DB>, timeZone: string): Promise<string> {
  const { rows } = await sql<{
    d: string;
  }>`SELECT to_char(now() AT TIME ZONE ${timeZone}, 'YYYY-MM-DD') AS d`.execute(db);
  return rows[0]!.d;
}

/** Every revision of a page, newest first, with who made and published it (names for members). */
export function revisionHistory(db: Kysely<DB>, pageId: string) {
  const nameOf = (col: string) =>
    sql<string | null>`(SELECT m.name FROM members m WHERE ${sql.ref(col)} = 'member:' || m.id::text)`;
  return db
    .selectFrom("page_revisions as r")
    .leftJoin("page_revisions as b", "b.id", "r.based_on_revision_id")
    .select([
      "r.id",
      "r.number",
      "r.title",
      "r.frozen",
      "r.created_by",
      "r.created_at",
      "r.published_by",
      "r.published_at",
      "b.number as based_on",
    ])
    .select(nameOf("r.created_by").as("created_by_name"))
    .select(nameOf("r.published_by").as("published_by_name"))
    .where("r.page_id", "=", pageId)
    .orderBy("r.number", "desc")
    .execute();
}

/** Pages a page may sit under in the navigation: other top-level pages. */
export function navParentChoices(db: Kysely<DB>, pageId: string) {
  return db
    .selectFrom("pages")
    .select(["id", "slug"])
    .where("id", "!=", pageId)
    .where("nav_parent_id", "is", null)
    .where("status", "!=", "archived")
    .orderBy("slug")
    .execute();
}

/** Whether any page sits under this one in the navigation. */
export async function hasNavChildren(db: Kysely<DB>, pageId: string): Promise<boolean> {
  const row = await db
    .selectFrom("pages")
    .select("id")
    .where("nav_parent_id", "=", pageId)
    .executeTakeFirst();
  return row !== undefined;
}

/** What the audience form offers: tiers, committees. */
export async function audienceChoices(db: Kysely<DB>) {
  const tiers = await db.selectFrom("membership_tiers").select(["key", "name"]).orderBy("name").execute();
  const committees = await db.selectFrom("committees").select(["id", "name"]).orderBy("name").execute();
  return { tiers, committees };
}

/** Published news posts with their blocks, newest first: what the Atom feed decides and shows. */
export async function publishedNewsWithBlocks(db: Kysely<DB>, limit = 50) {
  const rows = await publishedWithBlocks(db)
    .select(["p.id", "p.slug", "p.published_on", "r.title", "r.summary", "r.audience", "r.published_at"])
    .where("p.kind", "=", "news")
    .orderBy("p.published_on", "desc")
    .orderBy("r.published_at", "desc")
    .limit(limit)
    .execute();
  return rows.map(withBlocks);
}

/** Every published page with its current revision's audience and when it was published: what the
 * sitemap decides on. */
export function publishedPageList(db: Kysely<DB>) {
  return publishedRevisions(db)
    .select(["p.id", "p.slug", "p.kind", "r.title", "r.audience", "r.published_at"])
    .orderBy("p.slug")
    .execute();
}

/** Every published page with its current revision and blocks: what the leak audit renders and the JSON
 * API lists. */
export async function allPublishedPages(db: Kysely<DB>) {
  const rows = await publishedWithBlocks(db)
    .select([
      "p.id",
      "p.slug",
      "p.kind",
      "r.id as revision_id",
      "r.title",
      "r.summary",
      "r.audience",
      "r.published_at",
    ])
    .orderBy("p.slug")
    .execute();
  return rows.map(withBlocks);
}

/** Every page's draft with its blocks, and whether the page has anything published: what the leak audit
 * makes sure no public surface shows. */
export async function allDrafts(db: Kysely<DB>) {
  const rows = await db
    .selectFrom("pages as p")
    .innerJoin("page_revisions as r", "r.page_id", "p.id")
    .select(["p.id", "p.slug", "r.number", "r.title", "r.summary", "r.audience"])
    .select(sql<boolean>`p.current_published_revision_id IS NOT NULL`.as("published"))
    .select(blocksOf(sql.ref("r.id")).as("blocks"))
    .where("r.frozen", "=", false)
    .orderBy("p.slug")
    .execute();
  return rows.map(withBlocks);
}

/** A search hit: a published page whose title or summary matched (title_match), or some of whose blocks
 * did (matched_blocks, with each block's type and audience for the decision), and every block for a
 * snippet. Nothing is decided here: the caller drops what the viewer may not see. */
export async function searchPublished(db: Kysely<DB>, words: string, limit = 200) {
  const q = sql`plainto_tsquery('simple'::regconfig, ${words})`;
  const rows = await publishedWithBlocks(db)
    .select(["p.id", "p.slug", "p.kind", "r.title", "r.summary", "r.audience"])
    .select(sql<boolean>`r.search_vector @@ ${q}`.as("title_match"))
    .select(
      sql<string[]>`coalesce((SELECT array_agg(b.id::text) FROM page_blocks b
        WHERE b.revision_id = r.id AND b.search_vector @@ ${q}), '{}')`.as("matched_blocks"),
    )
    .where((eb) =>
      eb.or([
        sql<boolean>`r.search_vector @@ ${q}`,
        sql<boolean>`EXISTS (SELECT 1 FROM page_blocks b WHERE b.revision_id = r.id AND b.search_vector @@ ${q})`,
      ]),
    )
    .orderBy(sql`ts_rank(r.search_vector, ${q})`, "desc")
    .orderBy("p.slug")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ ...withBlocks(row), matched_blocks: new Set(row.matched_blocks) }));
}

/** Member ids standing for each audience class the club has: one per status, tier, current committee
 * and held role (the leak audit signs in as each). Only members who are not deleted. */
export async function sampleMemberIds(db: Kysely<DB>): Promise<{ label: string; memberId: string }[]> {
  const { rows } = await sql<{ label: string; member_id: string }>`
    SELECT label, member_id::text FROM (
      (SELECT DISTINCT ON (status) 'status ' || status AS label, id AS member_id FROM members
        WHERE deleted_at IS NULL ORDER BY status, created_at)
      UNION ALL
      (SELECT DISTINCT ON (tier_key) 'tier ' || tier_key, id FROM members
        WHERE deleted_at IS NULL AND tier_key IS NOT NULL ORDER BY tier_key, created_at)
      UNION ALL
      (SELECT DISTINCT ON (cm.committee_id) 'committee ' || cm.committee_id::text, cm.member_id
        FROM committee_memberships cm JOIN members m ON m.id = cm.member_id
        WHERE m.deleted_at IS NULL AND ${termIsCurrent("cm")} ORDER BY cm.committee_id, cm.member_id)
      UNION ALL
      (SELECT DISTINCT ON (ra.role_key) 'role ' || ra.role_key, ra.member_id
        FROM role_assignments ra JOIN members m ON m.id = ra.member_id
        WHERE m.deleted_at IS NULL AND ra.starts_at <= now() AND (ra.ends_at IS NULL OR ra.ends_at > now())
        ORDER BY ra.role_key, ra.member_id)
    ) s ORDER BY label`.execute(db);
  return rows.map((r) => ({ label: r.label, memberId: r.member_id }));
}

/** Records one leak audit run. */
export function insertLeakAudit(
  trx: Transaction<DB>,
  values: { ranBy: string; viewers: number; responses: number; findings: number; report: unknown },
) {
  return trx
    .insertInto("page_leak_audits")
    .values({
      ran_by: values.ranBy,
      viewers: values.viewers,
      responses: values.responses,
      findings: values.findings,
      report: JSON.stringify(values.report),
    })
    .returning(["id", "ran_at"])
    .executeTakeFirstOrThrow();
}

/** The newest leak audit run, or undefined before the first. */
export function latestLeakAudit(db: Kysely<DB>) {
  return db
    .selectFrom("page_leak_audits")
    .select(["id", "ran_at", "ran_by", "viewers", "responses", "findings"])
    .orderBy("ran_at", "desc")
    .limit(1)
    .executeTakeFirst();
}
