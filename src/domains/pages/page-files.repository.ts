import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of page files: each distinct content once (page_file_contents, by sha256) and which revision
 * carries which content under which name (page_files). */

/** Keeps a content (once: the same bytes uploaded twice are one row). */
export async function keepContent(
  trx: Transaction<DB>,
  file: { sha256: string; contentType: string; bytes: Uint8Array },
) {
  await trx
    .insertInto("page_file_contents")
    .values({
      sha256: file.sha256,
      content_type: file.contentType,
      size: file.bytes.length,
      bytes: file.bytes,
    })
    .onConflict((oc) => oc.column("sha256").doNothing())
    .execute();
}

/** Makes a content one of the revision's files; the first name it was attached under stays. */
export async function attachFile(
  trx: Transaction<DB>,
  file: { revisionId: string; sha256: string; fileName: string; createdBy: string },
) {
  await trx
    .insertInto("page_files")
    .values({
      revision_id: file.revisionId,
      sha256: file.sha256,
      file_name: file.fileName,
      created_by: file.createdBy,
    })
    .onConflict((oc) => oc.columns(["revision_id", "sha256"]).doNothing())
    .execute();
}

/** Whether the revision carries this file. */
export async function revisionHasFile(db: Kysely<DB>, revisionId: string, sha256: string): Promise<boolean> {
  const row = await db
    .selectFrom("page_files")
    .select("sha256")
    .where("revision_id", "=", revisionId)
    .where("sha256", "=", sha256)
    .executeTakeFirst();
  return row !== undefined;
}

/** One file of a revision with its bytes, or undefined. */
export function fileOfRevision(db: Kysely<DB>, revisionId: string, sha256: string) {
  return db
    .selectFrom("page_files as f")
    .innerJoin("page_file_contents as c", "c.sha256", "f.sha256")
    .select(["f.sha256", "f.file_name", "c.content_type", "c.size", "c.bytes"])
    .where("f.revision_id", "=", revisionId)
    .where("f.sha256", "=", sha256)
    .executeTakeFirst();
}

/** The files of a revision (without their bytes), for the editor. */
export function filesOfRevision(db: Kysely<DB>, revisionId: string) {
  return db
    .selectFrom("page_files as f")
    .innerJoin("page_file_contents as c", "c.sha256", "f.sha256")
    .select(["f.sha256", "f.file_name", "c.content_type", "c.size"])
    .where("f.revision_id", "=", revisionId)
    .orderBy("f.created_at")
    .execute();
}

/** Whether any revision of the page carries this file (what its editors may open). */
export async function pageHasFile(db: Kysely<DB>, pageId: string, sha256: string) {
  const row = await db
    .selectFrom("page_files as f")
    .innerJoin("page_revisions as r", "r.id", "f.revision_id")
    .select(["r.id"])
    .where("r.page_id", "=", pageId)
    .where("f.sha256", "=", sha256)
    .orderBy("r.number", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

/** Copies a revision's files to another (references only: the bytes are kept once). */
export async function copyFiles(trx: Transaction<DB>, fromRevisionId: string, toRevisionId: string) {
  await sql`INSERT INTO page_files (revision_id, sha256, file_name, created_by, created_at)
    SELECT ${toRevisionId}, sha256, file_name, created_by, created_at FROM page_files
    WHERE revision_id = ${fromRevisionId}`.execute(trx);
}

/** Detaches a file no block of the revision shows any more, and forgets its bytes when no revision
 * carries them: a removed image leaves nothing behind (pages.files_owned). */
export async function detachIfUnused(trx: Transaction<DB>, revisionId: string, sha256: string) {
  await sql`DELETE FROM page_files f WHERE f.revision_id = ${revisionId} AND f.sha256 = ${sha256}
    AND NOT EXISTS (SELECT 1 FROM page_blocks b WHERE b.revision_id = f.revision_id
                    AND b.data ->> 'file' = f.sha256)`.execute(trx);
  await sql`DELETE FROM page_file_contents c WHERE c.sha256 = ${sha256}
    AND NOT EXISTS (SELECT 1 FROM page_files f WHERE f.sha256 = c.sha256)`.execute(trx);
}

/** Every revision of every page, with the files it carries (their hashes): what the leak audit asks
 * the preview routes for. */
export function everyRevisionWithFiles(db: Kysely<DB>) {
  return db
    .selectFrom("page_revisions as r")
    .select(["r.page_id", "r.number"])
    .select(
      sql<string[]>`coalesce((SELECT array_agg(f.sha256 ORDER BY f.sha256) FROM page_files f
        WHERE f.revision_id = r.id), '{}')`.as("files"),
    )
    .orderBy("r.page_id")
    .orderBy("r.number")
    .execute();
}
