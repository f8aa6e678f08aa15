import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { sql } from "kysely";
import { openRuntime } from "../../src/app/runtime.ts";
import type { Database } from "../../src/core/db/connect.ts";
import {
  EARLIER_CHECKSUMS,
  migrate,
  migrationStatus,
  readFunctionFiles,
  readMigrationFiles,
  SCHEMA_DIRS,
  type SchemaDirs,
} from "../../src/core/db/migrate.ts";
import { testConfig } from "../helpers/app.ts";
import { type Engine, forEachEngine, openTestDatabase } from "../helpers/engines.ts";

const FUNCTIONS = readFunctionFiles().map((f) => f.name);
const LABELS = FUNCTIONS.map((name) => `functions/${name}`);
const TRIGGERS = [...readMigrationFiles(), ...readFunctionFiles()]
  .flatMap((f) => [...f.sql.matchAll(/^CREATE TRIGGER (\w+)/gm)].map((m) => m[1]!))
  .sort();

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-functions-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A copy of the migration and function folders that a test may edit. */
function copyOfSchemaDirs(): SchemaDirs {
  const root = fs.mkdtempSync(path.join(scratch, "dirs-"));
  const dirs = { migrations: path.join(root, "migrations"), functions: path.join(root, "functions") };
  fs.cpSync(SCHEMA_DIRS.migrations, dirs.migrations, { recursive: true });
  fs.cpSync(SCHEMA_DIRS.functions, dirs.functions, { recursive: true });
  return dirs;
}

function edit(dirs: SchemaDirs, name: string, change: (text: string) => string): string {
  const file = path.join(dirs.functions, name);
  const text = change(fs.readFileSync(file, "utf8"));
  fs.writeFileSync(file, text);
  return createHash("sha256").update(text).digest("hex");
}

async function withFreshDatabase(engine: Engine, fn: (database: Database) => Promise<void>): Promise<void> {
  const testDb = await openTestDatabase(engine, { migrate: false });
  try {
    await fn(testDb.database);
  } finally {
    await testDb.drop();
  }
}

async function functionsIn(database: Database): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT p.proname || '.sql' AS name FROM pg_proc p
    WHERE p.pronamespace = current_schema()::regnamespace AND left(p.proname, 7) = 'clubos_'
    ORDER BY 1`.execute(database.db);
  return rows.map((r) => r.name);
}

async function triggersIn(database: Database): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`.execute(database.db);
  return rows.map((r) => r.name);
}

async function definition(database: Database, name: string): Promise<string> {
  const { rows } = await sql<{ def: string }>`
    SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p
    WHERE p.proname = ${name} AND p.pronamespace = current_schema()::regnamespace`.execute(database.db);
  assert.equal(rows.length, 1, `${name} exists once`);
  return rows[0]!.def;
}

async function recorded(database: Database): Promise<Map<string, string>> {
  const rows = await database.db.selectFrom("schema_functions").select(["name", "checksum"]).execute();
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

forEachEngine("SQL function files", (engine) => {
  test("a fresh database gets every function and trigger, each function file recorded", async () => {
    await withFreshDatabase(engine, async (database) => {
      await migrate(database);
      assert.deepEqual(await functionsIn(database), [...FUNCTIONS].sort());
      assert.deepEqual(await triggersIn(database), TRIGGERS);
      const checksums = await recorded(database);
      for (const file of readFunctionFiles())
        assert.equal(checksums.get(file.name), file.checksum, file.name);
    });
  });

  test("a function file whose text changed is applied again on the next migrate, with its new checksum", async () => {
    await withFreshDatabase(engine, async (database) => {
      const dirs = copyOfSchemaDirs();
      await migrate(database, dirs);
      const register = edit(dirs, "clubos_register.sql", (t) =>
        t.replace("BEGIN\n", "BEGIN\n  -- changed by the test\n"),
      );
      const tally = edit(dirs, "clubos_registration_tally.sql", (t) =>
        t.replace("BEGIN\n", "BEGIN\n  -- changed by the test\n"),
      );
      const outdated = (await migrationStatus(database, dirs)).filter((s) => s.state === "outdated");
      assert.deepEqual(outdated.map((s) => s.name).sort(), [
        "clubos_register.sql",
        "clubos_registration_tally.sql",
      ]);

      assert.deepEqual((await migrate(database, dirs)).sort(), [
        "functions/clubos_register.sql",
        "functions/clubos_registration_tally.sql",
      ]);
      assert.match(await definition(database, "clubos_register"), /changed by the test/);
      assert.match(await definition(database, "clubos_registration_tally"), /changed by the test/);
      assert.ok(
        (await triggersIn(database)).includes("registrations_tally"),
        "its trigger was created again",
      );
      const checksums = await recorded(database);
      assert.equal(checksums.get("clubos_register.sql"), register);
      assert.equal(checksums.get("clubos_registration_tally.sql"), tally);
      assert.deepEqual(await migrate(database, dirs), [], "and not again once recorded");
    });
  });

  test("a database migrated before the functions had their own files starts, and gets them re-applied", async () => {
    await withFreshDatabase(engine, async (database) => {
      await migrate(database);
      // The state the previous version left: the earlier texts of the rewritten migrations recorded,
      // no record of function files.
      for (const [name, [checksum]] of Object.entries(EARLIER_CHECKSUMS)) {
        await database.db
          .updateTable("schema_migrations")
          .set({ checksum: checksum! })
          .where("name", "=", name)
          .execute();
      }
      await sql`DROP TABLE schema_functions`.execute(database.db);
      // Gone functions and triggers show that the files are applied again, not merely recorded.
      await sql`DROP TRIGGER registrations_tally ON registrations`.execute(database.db);
      await sql`DROP FUNCTION clubos_register(uuid, uuid, uuid, text[], integer, jsonb, jsonb, jsonb)`.execute(
        database.db,
      );

      assert.deepEqual((await migrate(database)).sort(), [...LABELS].sort());
      assert.deepEqual(await functionsIn(database), [...FUNCTIONS].sort());
      assert.deepEqual(await triggersIn(database), TRIGGERS);
      assert.ok((await migrationStatus(database)).every((s) => s.state === "applied"));
      const { config } = testConfig();
      const runtime = await openRuntime(config, { migrations: "require-current", database });
      await runtime.close();
    });
  });

  test("a function file that changed its arguments is refused with function_overloaded, and undone", async () => {
    await withFreshDatabase(engine, async (database) => {
      const dirs = copyOfSchemaDirs();
      await migrate(database, dirs);
      const before = (await recorded(database)).get("clubos_outbox_write.sql");
      edit(dirs, "clubos_outbox_write.sql", (t) =>
        t.replace("(p_audit uuid, p_messages jsonb)", "(p_audit uuid, p_messages jsonb, p_extra integer)"),
      );
      await assert.rejects(migrate(database, dirs), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, "function_overloaded");
        assert.match(error.message ?? "", /clubos_outbox_write\(p_audit uuid, p_messages jsonb\)/);
        assert.match(error.message ?? "", /new migration/, "says what to do");
        return true;
      });
      await definition(database, "clubos_outbox_write"); // still exactly one
      assert.equal((await recorded(database)).get("clubos_outbox_write.sql"), before);
    });
  });
});
