import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import { runChecks } from "../../src/core/invariants.ts";
import { publishPage, startDraft, uploadPageFile } from "../../src/domains/pages/pages.actions.ts";
import { pagesInvariantChecks } from "../../src/domains/pages/pages.invariants.ts";
import { forEachEngine, suiteDatabase } from "../helpers/engines.ts";
import { act, makePage, publisher, versionOf } from "../helpers/pages.ts";

/* The publishing invariants (INV-4, INV-5) as the issue lists them, each shown to find a row corrupted
 * behind the application's back: one current published revision per published page, published revisions
 * unchanged since publish (pages-immutability.test.ts), blocks ordered and owned by exactly one revision,
 * files owned by a revision (pages-files.test.ts). */

const TEXT = (markdown: string) => ({ type: "text", data: { markdown } });

forEachEngine("[INV-4, INV-5] the publishing invariant checks find corrupted rows", (engine) => {
  const s = suiteDatabase(engine);
  const db = () => s.get().database.db;
  const check = async (id: string) => {
    const report = await runChecks(s.get().database, "operator:test", pagesInvariantChecks);
    return report.checks.find((c) => c.id === id)!;
  };

  test("the issue's list is there: one current revision, unchanged since publish, blocks ordered and owned, files owned", () => {
    const ids = pagesInvariantChecks.map((c) => c.id);
    for (const id of [
      "pages.one_current_revision",
      "pages.published_unchanged",
      "pages.blocks_ordered",
      "pages.blocks_owned",
      "pages.files_owned",
    ])
      assert.ok(ids.includes(id), id);
  });

  test("pages.one_current_revision: a published page pointing at its draft (which the foreign key allows) is found", async () => {
    const page = await makePage(s.get().database, { blocks: [TEXT("Published words")] });
    assert.equal((await check("pages.one_current_revision")).violations, 0);
    const after = await act(s.get().database, publisher(), startDraft, {
      pageId: page.id,
      version: page.version,
    });
    const draft = await sql<{ id: string }>`SELECT id FROM page_revisions
      WHERE page_id = ${page.id} AND NOT frozen`.execute(db());
    await sql`UPDATE pages SET current_published_revision_id = ${draft.rows[0]!.id} WHERE id = ${page.id}`.execute(
      db(),
    );
    try {
      const found = await check("pages.one_current_revision");
      assert.equal(found.violations, 1);
      assert.equal(found.sample[0]!.subject_id, page.id);
      assert.match(found.sample[0]!.detail, /is not published/);
    } finally {
      await sql`UPDATE pages SET current_published_revision_id = ${page.current_published_revision_id}
        WHERE id = ${page.id}`.execute(db());
    }
    assert.equal((await check("pages.one_current_revision")).violations, 0);
    assert.ok(after.version > page.version);
  });

  test("pages.blocks_ordered: a gap in a revision's block places is found", async () => {
    const page = await makePage(s.get().database, { publish: false, blocks: [TEXT("one"), TEXT("two")] });
    const revision = await sql<{
      id: string;
    }>`SELECT id FROM page_revisions WHERE page_id = ${page.id}`.execute(db());
    const revisionId = revision.rows[0]!.id;
    assert.equal((await check("pages.blocks_ordered")).violations, 0);
    await sql`UPDATE page_blocks SET position = 5 WHERE revision_id = ${revisionId} AND position = 2`.execute(
      db(),
    );
    try {
      const found = await check("pages.blocks_ordered");
      assert.equal(found.violations, 1);
      assert.equal(found.sample[0]!.subject_id, revisionId);
      assert.match(found.sample[0]!.detail, /1,5 are not 1\.\.2/);
    } finally {
      await sql`UPDATE page_blocks SET position = 2 WHERE revision_id = ${revisionId} AND position = 5`.execute(
        db(),
      );
    }
  });

  test("pages.blocks_owned: a block whose revision does not exist (foreign key bypassed, as a bad restore might) is found", async () => {
    const orphan = randomUUID();
    const missingRevision = randomUUID();
    await db()
      .transaction()
      .execute(async (trx) => {
        // Replication mode skips the foreign-key triggers: what a restore that bypassed them could leave.
        await sql`SET LOCAL session_replication_role = replica`.execute(trx);
        await sql`INSERT INTO page_blocks (id, revision_id, position, type, data)
          VALUES (${orphan}, ${missingRevision}, 1, 'text', '{"markdown":"stray"}')`.execute(trx);
      });
    try {
      const found = await check("pages.blocks_owned");
      assert.equal(found.violations, 1);
      assert.equal(found.sample[0]!.subject_id, orphan);
      assert.match(found.sample[0]!.detail, new RegExp(`revision ${missingRevision} does not exist`));
    } finally {
      await sql`DELETE FROM page_blocks WHERE id = ${orphan}`.execute(db());
    }
    assert.equal((await check("pages.blocks_owned")).violations, 0);
  });

  test("pages.published_unchanged covers a published revision's files: a file renamed or swapped behind its back is found", async () => {
    const database = s.get().database;
    const by = publisher();
    const page = await makePage(database, { publish: false });
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      "base64",
    );
    await act(database, by, uploadPageFile, {
      pageId: page.id,
      version: await versionOf(database, page.id),
      kind: "file",
      fileName: "minutes.png",
      bytes: png,
      maxBytes: 1_000_000,
      text: "Minutes",
    });
    await act(database, by, publishPage, {
      pageId: page.id,
      version: await versionOf(database, page.id),
      timeZone: "Europe/London",
    });
    const { rows } = await sql<{ id: string; sha256: string }>`SELECT r.id, f.sha256 FROM page_revisions r
      JOIN page_files f ON f.revision_id = r.id WHERE r.page_id = ${page.id} AND r.frozen`.execute(db());
    const revisionId = rows[0]!.id;
    assert.equal((await check("pages.published_unchanged")).violations, 0);
    // The freeze trigger set aside, as a superuser could: the name a member downloads it under changes.
    const rename = async (name: string) =>
      db()
        .transaction()
        .execute(async (trx) => {
          await sql`SET LOCAL session_replication_role = replica`.execute(trx);
          await sql`UPDATE page_files SET file_name = ${name} WHERE revision_id = ${revisionId}`.execute(trx);
        });
    await rename("invoice.exe");
    try {
      const found = await check("pages.published_unchanged");
      assert.equal(found.violations, 1);
      assert.equal(found.sample[0]!.subject_id, revisionId);
    } finally {
      await rename("minutes.png");
    }
    assert.equal((await check("pages.published_unchanged")).violations, 0);
  });
});
