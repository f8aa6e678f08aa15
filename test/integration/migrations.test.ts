import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import { openRuntime } from "../../src/app/runtime.ts";
import type { Database } from "../../src/core/db/connect.ts";
import {
  migrate,
  migrationStatus,
  RETIRED_FUNCTIONS,
  readFunctionFiles,
  readMigrationFiles,
} from "../../src/core/db/migrate.ts";
import { runChecks } from "../../src/core/invariants.ts";
import { publishPage, uploadPageFile } from "../../src/domains/pages/pages.actions.ts";
import { pagesInvariantChecks } from "../../src/domains/pages/pages.invariants.ts";
import { testConfig } from "../helpers/app.ts";
import { type Engine, forEachEngine, openTestDatabase } from "../helpers/engines.ts";
import { act, makePage, publisher, versionOf } from "../helpers/pages.ts";

const FILES = readMigrationFiles().map((f) => f.name);
const FUNCTIONS = readFunctionFiles().map((f) => f.name);
const FIRST = FILES[0]!;

/** Runs fn on a fresh, unmigrated database of its own, dropped after. */
async function withFreshDatabase(engine: Engine, fn: (database: Database) => Promise<void>): Promise<void> {
  const testDb = await openTestDatabase(engine, { migrate: false });
  try {
    await fn(testDb.database);
  } finally {
    await testDb.drop();
  }
}

/** Runs a CLI verb the way bin/clubos.mjs does, on the given database, capturing what it prints. */
async function cli(database: Database, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { config } = testConfig();
  const env: CliEnv = {
    io: { out: (s) => out.push(s), err: (s) => err.push(s), progress: () => {} },
    config,
    async withRuntime(fn, options) {
      const runtime = await openRuntime(config, {
        migrations: options?.forMigrate ? "none" : "require-current",
        database,
      });
      try {
        return await fn(runtime);
      } finally {
        await runtime.close();
      }
    },
  };
  const code = await runCli(argv, env);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const refusedWith = (code: string, names: string) => (error: { code?: string; message?: string }) => {
  assert.equal(error.code, code);
  assert.ok(error.message?.includes(names), `the message names ${names}: ${error.message}`);
  return true;
};

forEachEngine("migrations", (engine) => {
  test("migrating twice applies every file once and nothing the second time", async () => {
    await withFreshDatabase(engine, async (database) => {
      const applied = await migrate(database);
      assert.deepEqual(
        applied.filter((name) => !name.startsWith("functions/")),
        FILES,
      );
      assert.deepEqual(
        applied.filter((name) => name.startsWith("functions/")).sort(),
        FUNCTIONS.map((name) => `functions/${name}`).sort(),
      );
      assert.deepEqual(await migrate(database), []);
      const rows = await database.db.selectFrom("schema_migrations").select("name").orderBy("name").execute();
      assert.deepEqual(
        rows.map((r) => r.name),
        FILES,
      );
    });
  });

  test("a migration changed after it was applied stops the runtime with migration_changed", async () => {
    await withFreshDatabase(engine, async (database) => {
      await migrate(database);
      await database.db
        .updateTable("schema_migrations")
        .set({ checksum: "x" })
        .where("name", "=", FIRST)
        .execute();
      const { config } = testConfig();
      for (const migrations of ["apply", "require-current"] as const) {
        await assert.rejects(
          openRuntime(config, { migrations, database }),
          refusedWith("migration_changed", FIRST),
        );
      }
    });
  });

  test("a migration this version does not know stops the runtime with migration_unknown", async () => {
    await withFreshDatabase(engine, async (database) => {
      await migrate(database);
      await database.db
        .insertInto("schema_migrations")
        .values({ name: "9999_future.sql", checksum: "x" })
        .execute();
      const { config } = testConfig();
      await assert.rejects(
        openRuntime(config, { migrations: "apply", database }),
        refusedWith("migration_unknown", "9999_future.sql"),
      );
      assert.equal(
        (await database.db.selectFrom("schema_migrations").select("name").execute()).length,
        FILES.length + 1,
        "nothing was applied or removed",
      );
    });
  });

  test("a verb that needs the database refuses an unmigrated one with migrations_pending", async () => {
    await withFreshDatabase(engine, async (database) => {
      const result = await cli(database, ["mode", "show"]);
      assert.equal(result.code, 2);
      assert.match(result.err, /\[migrations_pending\]$/);
      assert.match(result.err, /clubos migrate/, "says what to do");
      assert.equal(result.out, "");
      const applied = await database.db.selectFrom("schema_migrations").select("name").execute();
      assert.equal(applied.length, 0, "the verb did not migrate behind the operator's back");
    });
  });

  test("`migrate --status` lists each migration's state, and `migrate` applies them", async () => {
    await withFreshDatabase(engine, async (database) => {
      const pending = await cli(database, ["migrate", "--status"]);
      assert.equal(pending.code, 0);
      assert.match(pending.out, new RegExp(`^pending +${FIRST}$`, "m"));
      const applied = await cli(database, ["migrate"]);
      assert.equal(applied.code, 0);
      assert.match(applied.out, new RegExp(`^Applied (.+, )?${FIRST}, `));
      const status = await cli(database, ["migrate", "--status"]);
      assert.equal(status.code, 0);
      assert.equal(status.out.split("\n").length, FILES.length + FUNCTIONS.length);
      assert.match(status.out, new RegExp(`^applied +${FIRST}$`, "m"));
      assert.match(
        status.out,
        /^applied +functions\/clubos_register\.sql$/m,
        "function files are listed too",
      );
      assert.equal((await cli(database, ["migrate"])).out, "The database is up to date.");
      await database.db
        .insertInto("schema_migrations")
        .values({ name: "9999_future.sql", checksum: "x" })
        .execute();
      const drift = await cli(database, ["migrate", "--status"]);
      assert.notEqual(drift.code, 0, "drift makes the status check fail");
      assert.match(`${drift.out}\n${drift.err}`, /9999_future\.sql/, "and names the file");
    });
  });

  test("a database from before 0031 trades the two retired frozen functions for the one with an argument", async () => {
    await withFreshDatabase(engine, async (database) => {
      await migrate(database);
      const db = database.db;
      const retiredBy = "0031_one_page_part_frozen_trigger.sql";
      // Put the database back as a build before 0031 left it: the two functions, their triggers and records.
      await sql`DROP TRIGGER page_blocks_frozen ON page_blocks`.execute(db);
      await sql`DROP TRIGGER page_files_frozen ON page_files`.execute(db);
      await sql`DROP FUNCTION clubos_page_part_frozen()`.execute(db);
      for (const [file, table] of [
        ["clubos_page_block_frozen", "page_blocks"],
        ["clubos_page_file_frozen", "page_files"],
      ] as const) {
        await sql
          .raw(`CREATE FUNCTION ${file}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
            CREATE TRIGGER ${table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON ${table}
            FOR EACH ROW EXECUTE FUNCTION ${file}()`)
          .execute(db);
        assert.equal(RETIRED_FUNCTIONS[`${file}.sql`], retiredBy);
        await db
          .insertInto("schema_functions")
          .values({ name: `${file}.sql`, checksum: "old" })
          .execute();
      }
      await db.deleteFrom("schema_migrations").where("name", "=", retiredBy).execute();
      await db.deleteFrom("schema_functions").where("name", "=", "clubos_page_part_frozen.sql").execute();

      const before = await migrationStatus(database);
      assert.deepEqual(
        before.filter((s) => s.state !== "applied").map((s) => `${s.state} ${s.name}`),
        [`pending ${retiredBy}`, "pending clubos_page_part_frozen.sql"],
        "the retired functions' records are not unknown while their migration is pending",
      );
      assert.deepEqual(await migrate(database), [retiredBy, "functions/clubos_page_part_frozen.sql"]);
      const after = await migrationStatus(database);
      assert.deepEqual(
        after.filter((s) => s.state !== "applied"),
        [],
      );
      const { rows } = await sql<{ proname: string }>`SELECT proname FROM pg_proc
        WHERE proname IN ('clubos_page_block_frozen', 'clubos_page_file_frozen', 'clubos_page_part_frozen')`.execute(
        db,
      );
      assert.deepEqual(
        rows.map((r) => r.proname),
        ["clubos_page_part_frozen"],
      );
      const triggers = await sql<{ tgname: string; args: string }>`SELECT tgname,
          encode(tgargs, 'escape') AS args FROM pg_trigger
        WHERE tgname IN ('page_blocks_frozen', 'page_files_frozen') ORDER BY tgname`.execute(db);
      assert.deepEqual(
        triggers.rows.map((t) => [t.tgname, t.args.replace(/\\000$/, "")]),
        [
          ["page_blocks_frozen", "block"],
          ["page_files_frozen", "file"],
        ],
      );
    });
  });

  test("a page published with a file before 0036 keeps a clean scan: its content hash is recorded again, files included", async () => {
    await withFreshDatabase(engine, async (database) => {
      await migrate(database);
      const db = database.db;
      const by = "0036_page_content_hash_files.sql";
      // Put the database back as a build before 0036 left it: the content hash without the files.
      await sql
        .raw(`CREATE OR REPLACE FUNCTION clubos_page_content_hash(revision uuid) RETURNS text LANGUAGE sql STABLE AS $$
          SELECT encode(sha256(convert_to(jsonb_build_object('title', r.title, 'summary', r.summary,
            'audience', r.audience, 'blocks', coalesce((SELECT jsonb_agg(jsonb_build_object('position',
            b.position, 'type', b.type, 'audience', b.audience, 'data', b.data) ORDER BY b.position)
            FROM page_blocks b WHERE b.revision_id = r.id), '[]'::jsonb))::text, 'UTF8')), 'hex')
          FROM page_revisions r WHERE r.id = revision $$`)
        .execute(db);
      await db
        .updateTable("schema_functions")
        .set({ checksum: "old" })
        .where("name", "=", "clubos_page_content_hash.sql")
        .execute();
      await db.deleteFrom("schema_migrations").where("name", "=", by).execute();
      const page = await makePage(database, { publish: false });
      await act(database, publisher(), uploadPageFile, {
        pageId: page.id,
        version: await versionOf(database, page.id),
        kind: "file",
        fileName: "minutes.png",
        bytes: Buffer.from(
          "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
          "base64",
        ),
        maxBytes: 1_000_000,
        text: "Minutes",
      });
      await act(database, publisher(), publishPage, {
        pageId: page.id,
        version: await versionOf(database, page.id),
        timeZone: "Europe/London",
      });
      const hashOf = async () =>
        (
          await db
            .selectFrom("page_revisions")
            .select("content_hash")
            .where("page_id", "=", page.id)
            .executeTakeFirstOrThrow()
        ).content_hash;
      const old = await hashOf();

      assert.deepEqual(await migrate(database), ["functions/clubos_page_content_hash.sql", by]);
      assert.notEqual(await hashOf(), old, "the hash now covers the file");
      const report = await runChecks(database, "operator:test", pagesInvariantChecks);
      assert.ok(report.ok, JSON.stringify(report.checks.filter((c) => c.violations > 0)));
      const { rows } = await sql<{ enabled: string }>`SELECT tgenabled AS enabled FROM pg_trigger
        WHERE tgname = 'page_revisions_frozen'`.execute(db);
      assert.equal(rows[0]?.enabled, "O", "the freeze trigger is back on");
    });
  });
});
