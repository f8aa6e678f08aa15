import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runChecks } from "../../src/core/invariants.ts";
import {
  moveBlock,
  publishPage,
  removeBlock,
  saveDraft,
  setAudience,
  updateBlock,
} from "../../src/domains/pages/pages.actions.ts";
import { pagesInvariantChecks } from "../../src/domains/pages/pages.invariants.ts";
import {
  blocksOfRevision,
  findRevision,
  updateBlockData,
  updateRevisionText,
} from "../../src/domains/pages/pages.repository.ts";
import { forEachEngine, openTestDatabase, postgresOnly, suiteDatabase } from "../helpers/engines.ts";
import { act, makePage, publisher, versionOf } from "../helpers/pages.ts";

const TEXT = (markdown: string) => ({ type: "text", data: { markdown } });
const code = (c: string) => (error: unknown) => (error as { code?: string }).code === c;
const sqlCode = (c: string) => (error: unknown) => (error as { code?: string }).code === c;

forEachEngine("published page revisions never change (INV-4)", (engine) => {
  const s = suiteDatabase(engine);
  const db = () => s.get().database.db;

  async function publishedWithBlocks() {
    const page = await makePage(s.get().database, { blocks: [TEXT("First"), TEXT("Second")] });
    const revision = (await findRevision(db(), page.id, page.current_published_revision_id!))!;
    const blocks = await blocksOfRevision(db(), revision.id);
    return { page, revision, blocks };
  }

  test("publishing freezes the revision with its content hash, when and by whom", async () => {
    const { page, revision } = await publishedWithBlocks();
    assert.equal(page.status, "published");
    assert.equal(revision.frozen, true);
    assert.ok(revision.published_at && revision.published_by?.startsWith("member:"));
    const { rows } = await sql<{ h: string }>`SELECT clubos_page_content_hash(${revision.id}) AS h`.execute(
      db(),
    );
    assert.equal(revision.content_hash, rows[0]!.h);
    assert.match(revision.content_hash!, /^[0-9a-f]{64}$/);
  });

  test("the database refuses a direct UPDATE or DELETE of a published revision and of its blocks", async () => {
    const { revision, blocks } = await publishedWithBlocks();
    const refused = sqlCode("CB021");
    await assert.rejects(
      sql`UPDATE page_revisions SET title = 'Changed' WHERE id = ${revision.id}`.execute(db()),
      refused,
    );
    await assert.rejects(sql`DELETE FROM page_revisions WHERE id = ${revision.id}`.execute(db()), refused);
    await assert.rejects(
      sql`UPDATE page_blocks SET data = '{"markdown":"x"}' WHERE id = ${blocks[0]!.id}`.execute(db()),
      refused,
    );
    await assert.rejects(sql`DELETE FROM page_blocks WHERE id = ${blocks[0]!.id}`.execute(db()), refused);
    await assert.rejects(
      sql`INSERT INTO page_blocks (revision_id, position, type, data)
          VALUES (${revision.id}, 3, 'text', '{"markdown":"added"}')`.execute(db()),
      refused,
    );
    const after = (await findRevision(db(), revision.page_id, revision.id))!;
    assert.equal(after.title, revision.title);
    assert.equal((await blocksOfRevision(db(), revision.id)).length, 2);
  });

  test("the trigger alone stops a write that skips the application's check (repository called directly)", async () => {
    const { revision, blocks } = await publishedWithBlocks();
    await assert.rejects(
      db()
        .transaction()
        .execute((trx) => updateBlockData(trx, blocks[0]!.id, { markdown: "sneaked in" })),
      sqlCode("CB021"),
    );
    await assert.rejects(
      db()
        .transaction()
        .execute((trx) => updateRevisionText(trx, revision.id, "Sneaked", "")),
      sqlCode("CB021"),
    );
  });

  test("a stale draft save is refused with what changed, and nothing is written (W-4)", async () => {
    const database = s.get().database;
    const page = await makePage(database, { publish: false });
    const read = page.version;
    await act(database, publisher(), saveDraft, {
      pageId: page.id,
      version: read,
      title: "Editor A",
      summary: "",
    });
    await assert.rejects(
      act(database, publisher(), saveDraft, {
        pageId: page.id,
        version: read,
        title: "A page",
        summary: "B's",
      }),
      (error: { code?: string; details?: { changedFields?: string[] }; message: string }) => {
        assert.equal(error.code, "conflict");
        assert.deepEqual(error.details?.changedFields, ["title"]);
        assert.match(error.message, /\(title\)/);
        return true;
      },
    );
    const draft = (
      await sql<{ title: string; summary: string }>`
      SELECT title, summary FROM page_revisions WHERE page_id = ${page.id} AND NOT frozen`.execute(db())
    ).rows[0]!;
    assert.deepEqual(draft, { title: "Editor A", summary: "" });
  });

  test("a draft with a block the renderer would refuse cannot be published, and nothing is frozen", async () => {
    const database = s.get().database;
    const page = await makePage(database, { publish: false, blocks: [TEXT("fine")] });
    await sql`INSERT INTO page_blocks (revision_id, position, type, data)
      SELECT id, 2, 'heading', '{"text": "", "level": 7}'::jsonb FROM page_revisions
      WHERE page_id = ${page.id} AND NOT frozen`.execute(db());
    await assert.rejects(
      act(database, publisher(), publishPage, {
        pageId: page.id,
        version: await versionOf(database, page.id),
        timeZone: "Europe/London",
      }),
      (error: { code?: string; message: string }) =>
        error.code === "invalid_block" && /Block 2/.test(error.message),
    );
    const row = await sql<{ status: string; frozen: number }>`SELECT p.status,
      (SELECT count(*)::int FROM page_revisions r WHERE r.page_id = p.id AND r.frozen) AS frozen
      FROM pages p WHERE p.id = ${page.id}`.execute(db());
    assert.deepEqual(row.rows[0], { status: "draft", frozen: 0 });
  });

  test("the pages checks hold for everything the actions made (INV-4, INV-5)", async () => {
    const report = await runChecks(s.get().database, "operator:test", pagesInvariantChecks);
    assert.ok(report.ok, JSON.stringify(report.checks.filter((c) => c.violations || c.error)));
  });
});

forEachEngine("each freeze mechanism is what stops the change", (engine) => {
  test("[G05] without the triggers, the application's check alone refuses every edit of a published revision", async () => {
    const testDb = await openTestDatabase(engine);
    try {
      const database = testDb.database;
      await sql`DROP TRIGGER page_revisions_frozen ON page_revisions`.execute(database.db);
      await sql`DROP TRIGGER page_blocks_frozen ON page_blocks`.execute(database.db);
      const page = await makePage(database, { blocks: [TEXT("First"), TEXT("Second")] });
      const revisionId = page.current_published_revision_id!;
      const [first] = await blocksOfRevision(database.db, revisionId);
      const pageId = page.id;
      const by = publisher();
      const frozen = code("revision_frozen");
      const version = await versionOf(database, pageId);
      await assert.rejects(
        act(database, by, updateBlock, {
          pageId,
          version,
          blockId: first!.id,
          data: { markdown: "changed" },
        }),
        frozen,
      );
      await assert.rejects(
        act(database, by, moveBlock, { pageId, version, blockId: first!.id, direction: "down" }),
        frozen,
      );
      await assert.rejects(act(database, by, removeBlock, { pageId, version, blockId: first!.id }), frozen);
      await assert.rejects(
        act(database, by, setAudience, {
          pageId,
          version,
          blockId: first!.id,
          audience: { type: "members" },
        }),
        frozen,
      );
      // The page-level edits find no draft to write to: the published revision is never their target.
      await assert.rejects(
        act(database, by, saveDraft, { pageId, version, title: "Changed", summary: "" }),
        code("no_draft"),
      );
      const report = await runChecks(database, "operator:test", pagesInvariantChecks);
      assert.ok(report.ok, "the published revision is exactly as it was published");

      // And the check is what stopped them: past it (the repository called directly) the write goes
      // through now that the triggers are gone, and the scan sees the published content changed.
      await database.db
        .transaction()
        .execute((trx) => updateBlockData(trx, first!.id, { markdown: "changed" }));
      const after = await runChecks(database, "operator:test", pagesInvariantChecks);
      const unchanged = after.checks.find((c) => c.id === "pages.published_unchanged")!;
      assert.equal(unchanged.violations, 1);
      assert.equal(unchanged.sample[0]!.subject_id, revisionId);
    } finally {
      await testDb.drop();
    }
  });
});

postgresOnly("concurrent publishing keeps one current revision (INV-4)", () => {
  const s = suiteDatabase("postgres");

  test("two publishers racing on one draft: one publishes, the other is refused as stale", async () => {
    const database = s.get().database;
    for (let round = 0; round < 5; round++) {
      const page = await makePage(database, { publish: false, blocks: [TEXT(`round ${round}`)] });
      const version = page.version;
      const input = { pageId: page.id, version, timeZone: "Europe/London" };
      const results = await Promise.allSettled([
        act(database, publisher(), publishPage, input),
        act(database, publisher(), publishPage, input),
        act(database, publisher(), saveDraft, { pageId: page.id, version, title: "Late", summary: "" }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled").length;
      assert.equal(won, 1, "exactly one of the three writes on that version wins");
      for (const r of results)
        if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "conflict");
      const revisions = await sql<{ n: number }>`SELECT count(*)::int AS n FROM page_revisions
        WHERE page_id = ${page.id} AND frozen`.execute(database.db);
      assert.ok(revisions.rows[0]!.n <= 1);
    }
    const report = await runChecks(database, "operator:test", pagesInvariantChecks);
    assert.ok(report.ok, JSON.stringify(report.checks.filter((c) => c.violations || c.error)));
  });
});
