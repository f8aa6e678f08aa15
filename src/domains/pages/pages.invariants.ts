import { sql } from "kysely";
import type { InvariantCheck, Violation } from "../../core/invariants.ts";

/** The publishing checks (INV-4, INV-5): one current published revision per published page, published
 * revisions unchanged since they were published, blocks ordered and owned by exactly one revision, files
 * owned by a revision that shows them. */
export const pagesInvariantChecks: InvariantCheck[] = [
  {
    id: "pages.one_current_revision",
    rule: "INV-4",
    description:
      "a published page has exactly one current revision, of its own and published; any other page none",
    sql: sql<Violation>`
      SELECT 'page' AS subject_type, p.id::text AS subject_id,
             CASE WHEN p.status = 'published' AND p.current_published_revision_id IS NULL
                    THEN 'published without a current revision'
                  WHEN p.status <> 'published' AND p.current_published_revision_id IS NOT NULL
                    THEN p.status || ' page still points at a current revision'
                  WHEN r.id IS NULL THEN 'current revision is not one of its own'
                  ELSE 'current revision ' || r.number::text || ' is not published' END AS detail
      FROM pages p
      LEFT JOIN page_revisions r ON r.id = p.current_published_revision_id AND r.page_id = p.id
      WHERE (p.status = 'published') <> (p.current_published_revision_id IS NOT NULL)
         OR (p.current_published_revision_id IS NOT NULL AND (r.id IS NULL OR NOT r.frozen))`,
  },
  {
    id: "pages.published_unchanged",
    rule: "INV-4",
    description: "every published revision still has the content hash recorded when it was published",
    sql: sql<Violation>`
      SELECT 'page_revision' AS subject_type, r.id::text AS subject_id,
             'revision ' || r.number::text || ' of page ' || r.page_id::text
               || ' changed after it was published (content hash differs)' AS detail
      FROM page_revisions r
      WHERE r.frozen AND r.content_hash IS DISTINCT FROM clubos_page_content_hash(r.id)`,
  },
  {
    id: "pages.one_draft",
    rule: "INV-4",
    description: "a page has at most one draft revision",
    sql: sql<Violation>`
      SELECT 'page' AS subject_type, page_id::text AS subject_id,
             count(*)::text || ' drafts' AS detail
      FROM page_revisions WHERE NOT frozen GROUP BY page_id HAVING count(*) > 1`,
  },
  {
    id: "pages.blocks_ordered",
    rule: "INV-5",
    description: "the blocks of each revision are at places exactly 1..n, one block per place",
    sql: sql<Violation>`
      SELECT 'page_revision' AS subject_type, revision_id::text AS subject_id,
             'block places ' || string_agg(position::text, ',' ORDER BY position) || ' are not 1..'
               || count(*)::text AS detail
      FROM page_blocks GROUP BY revision_id
      HAVING min(position) <> 1 OR max(position) <> count(*) OR count(DISTINCT position) <> count(*)`,
  },
  {
    id: "pages.blocks_owned",
    rule: "INV-5",
    description: "every block belongs to an existing revision",
    sql: sql<Violation>`
      SELECT 'page_block' AS subject_type, b.id::text AS subject_id,
             'revision ' || b.revision_id::text || ' does not exist' AS detail
      FROM page_blocks b LEFT JOIN page_revisions r ON r.id = b.revision_id
      WHERE r.id IS NULL`,
  },
  {
    id: "pages.files_owned",
    rule: "INV-5",
    description:
      "every image and file block shows a file its own revision carries, and every file of a revision is shown by one of its blocks",
    sql: sql<Violation>`
      SELECT 'page_block' AS subject_type, b.id::text AS subject_id,
             'shows file ' || coalesce(b.data ->> 'file', '(none)') || ' which revision '
               || b.revision_id::text || ' does not carry' AS detail
      FROM page_blocks b
      WHERE b.type IN ('image', 'file')
        AND NOT EXISTS (SELECT 1 FROM page_files f
                        WHERE f.revision_id = b.revision_id AND f.sha256 = b.data ->> 'file')
      UNION ALL
      SELECT 'page_revision' AS subject_type, f.revision_id::text AS subject_id,
             'carries file ' || f.sha256 || ' that none of its blocks shows' AS detail
      FROM page_files f
      WHERE NOT EXISTS (SELECT 1 FROM page_blocks b WHERE b.revision_id = f.revision_id
                          AND b.type IN ('image', 'file') AND b.data ->> 'file' = f.sha256)
      UNION ALL
      SELECT 'page_file' AS subject_type, c.sha256 AS subject_id,
             'kept, but no revision carries it' AS detail
      FROM page_file_contents c
      WHERE NOT EXISTS (SELECT 1 FROM page_files f WHERE f.sha256 = c.sha256)`,
  },
];
