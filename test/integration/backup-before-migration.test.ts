import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { openRuntime } from "../../src/app/runtime.ts";
import { listBackups } from "../../src/core/backup/index.ts";
import type { ClubError } from "../../src/core/errors.ts";
import { testConfig } from "../helpers/app.ts";
import { forEachEngine, openTestDatabase } from "../helpers/engines.ts";

// A changed SQL function file is a migration step like any other: mark one as changed since it was
// applied, and the next start has something to migrate.
const FUNCTION = "clubos_touch_timestamps.sql";

forEachEngine("a backup before every migration", (engine) => {
  test("[G01] starting with a migration due takes a backup first, then migrates", async () => {
    const testDb = await openTestDatabase(engine);
    try {
      await sql`UPDATE schema_functions SET checksum = 'outdated' WHERE name = ${FUNCTION}`.execute(
        testDb.database.db,
      );
      const { config } = testConfig();
      const runtime = await openRuntime(config, { migrations: "apply", database: testDb.database });
      await runtime.close();
      const backups = listBackups(config.backupDir);
      assert.equal(backups.length, 1, "one backup, taken before the migration");
      assert.equal(backups[0]!.manifest.actor, "system:migrate");
      const recorded = backups[0]!.manifest.schema.functions.find((f) => f.name === FUNCTION);
      assert.equal(
        recorded?.checksum,
        "outdated",
        "the backup holds the database as it was before the migration",
      );
      const { rows } = await sql<{
        checksum: string;
      }>`SELECT checksum FROM schema_functions WHERE name = ${FUNCTION}`.execute(testDb.database.db);
      assert.notEqual(rows[0]?.checksum, "outdated", "then the migration ran");
    } finally {
      await testDb.drop();
    }
  });

  test("[G01] when that backup fails the migration does not run, and the start says why", async () => {
    const testDb = await openTestDatabase(engine);
    try {
      await sql`UPDATE schema_functions SET checksum = 'outdated' WHERE name = ${FUNCTION}`.execute(
        testDb.database.db,
      );
      const { config, dirs } = testConfig();
      fs.mkdirSync(path.dirname(dirs.backup), { recursive: true });
      fs.writeFileSync(dirs.backup, "a file where the backup folder should be");
      await assert.rejects(
        openRuntime(config, { migrations: "apply", database: testDb.database }),
        (error: ClubError) =>
          error.code === "migration_backup_failed" && /was not migrated/.test(error.message),
      );
      const { rows } = await sql<{
        checksum: string;
      }>`SELECT checksum FROM schema_functions WHERE name = ${FUNCTION}`.execute(testDb.database.db);
      assert.equal(rows[0]?.checksum, "outdated", "nothing was migrated");
    } finally {
      await testDb.drop();
    }
  });

  test("a new database is migrated at once: there is nothing to back up", async () => {
    const testDb = await openTestDatabase(engine, { migrate: false });
    try {
      const { config } = testConfig();
      const runtime = await openRuntime(config, { migrations: "apply", database: testDb.database });
      await runtime.close();
      assert.deepEqual(listBackups(config.backupDir), []);
    } finally {
      await testDb.drop();
    }
  });
});
