import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { PUBLISHED_PAGE_COLUMNS, publishedRevisions } from "./pages.repository.ts";

/* The one read a published-page request makes before it can be answered from the render cache
 * (page-render-cache.ts): the page's current published revision (id, content hash, audience and what the
 * layout shows) and the navigation's key, in a single statement. Every request asks the database, so a
 * publish, unpublish or audience change made by any process is seen on the very next request. */

/** What decides the navigation, exactly: each published page placed in it with its slug, place and
 * current published revision (whose title and audience are frozen with it). Any change to one of these
 * changes the key, so navigation rows kept under a key are those the database would return. */
const navigationKey = () =>
  sql<string>`(SELECT coalesce(string_agg(format('%s|%s|%s|%s|%s', n.id, n.slug, n.nav_parent_id,
    n.nav_order, n.current_published_revision_id), ',' ORDER BY n.id), '')
    FROM pages n WHERE n.status = 'published' AND n.nav_order IS NOT NULL)`;

/** The published page at this slug without its blocks, with the navigation key; undefined when no
 * published page has this slug. */
export async function publishedPageState(db: Kysely<DB>, slug: string) {
  const row = await publishedRevisions(db)
    .select([...PUBLISHED_PAGE_COLUMNS, "r.content_hash"])
    .select(navigationKey().as("nav_key"))
    .where("p.slug", "=", slug)
    .executeTakeFirst();
  if (!row) return undefined;
  return { ...row, audience: row.audience as unknown };
}
export type PublishedPageState = NonNullable<Awaited<ReturnType<typeof publishedPageState>>>;

/** The navigation's rows (as pages.repository navigationPages) with the key of the state they were read
 * in, from the same statement: rows are only ever kept under the key of their own snapshot. */
export async function navigationWithKey(db: Kysely<DB>) {
  const rows = await publishedRevisions(db)
    .select(["p.id", "p.slug", "p.nav_parent_id", "p.nav_order", "r.title", "r.audience"])
    .select(navigationKey().as("nav_key"))
    .where("p.nav_order", "is not", null)
    .orderBy("p.nav_order")
    .orderBy("p.slug")
    .execute();
  return { key: rows[0]?.nav_key ?? "", rows: rows.map(({ nav_key: _, ...row }) => row) };
}
export type NavigationRow = Awaited<ReturnType<typeof navigationWithKey>>["rows"][number];
