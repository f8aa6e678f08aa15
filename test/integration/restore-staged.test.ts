import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { actorRef, operatorActor } from "../../src/core/actor.ts";
import { createBackup, restoreInto } from "../../src/core/backup/index.ts";
import { definitionOf } from "../../src/core/backup/restore-staged.ts";
import type { Database } from "../../src/core/db/connect.ts";
import { KEPT_BY_RESTORE } from "../../src/domains/ops/restore.repository.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { sealAll } from "../helpers/audit.ts";
import { flipByte, schemaOf, seedClub, tableDigests } from "../helpers/backup.ts";
import { openTestDatabase, postgresOnly } from "../helpers/engines.ts";

// On PostgreSQL the largest tables load on lanes of their own into a stage schema, and the restore's
// transaction swaps them in for the live ones (bench:backup: what makes a restore faster than
// pg_restore). stageAtRows: 1 stages every table that can be, so a small club exercises it.

const ACTOR = actorRef(operatorActor("restore-test"));

const oidOf = async (database: Database, table: string) =>
  (await sql<{ oid: string }>`SELECT ${table}::regclass::oid::text AS oid`.execute(database.db)).rows[0]!.oid;

const stages = async (database: Database) =>
  (
    await sql<{
      name: string;
    }>`SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'clubos_restore_%'`.execute(database.db)
  ).rows.map((r) => r.name);

postgresOnly("restore on lanes", () => {
  const suite = suiteApp("postgres");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-restore-staged-"));
  let bundle: string;

  test("[G01] tables loaded on lanes and swapped in leave the schema as the migrations made it and the rows as the source's", async () => {
    const { runtime } = suite.get();
    await seedClub(runtime);
    bundle = (
      await createBackup(runtime.database, { backupDir: dir, actor: ACTOR, appVersion: "test", key: null })
    ).dir;
    const target = await openTestDatabase("postgres");
    try {
      const migrated = await schemaOf(target.database);
      const before = { audit: await oidOf(target.database, "audit_log") };
      await restoreInto(target.database, bundle, null, { stageAtRows: 1, readBack: true });
      // Swapped in: the live tables are new ones (a table loaded in the transaction keeps its oid).
      assert.notEqual(await oidOf(target.database, "audit_log"), before.audit);
      assert.deepEqual(await schemaOf(target.database), migrated);
      assert.deepEqual(await tableDigests(target.database), await tableDigests(runtime.database));
      assert.deepEqual(await stages(target.database), [], "the stage schema is gone");
      // The swapped-in audit log still refuses change (its triggers came along) and takes new entries
      // after the restored ones (its sequence came along).
      await assert.rejects(
        sql`UPDATE audit_log SET reason = 'edited'`.execute(target.database.db),
        /append-only|not allowed|refuse/i,
      );
      const { rows } = await sql<{ seq: string }>`SELECT nextval('audit_log_seq_seq')::text AS seq`.execute(
        target.database.db,
      );
      const { rows: max } = await sql<{ seq: string }>`SELECT max(seq)::text AS seq FROM audit_log`.execute(
        target.database.db,
      );
      assert.ok(Number(rows[0]!.seq) > Number(max[0]!.seq));
    } finally {
      await target.drop();
    }
  });

  test("[G01] a restore in place on lanes, beside the running app, keeps what it keeps and leaves the app working", async () => {
    const { runtime } = suite.get();
    const db = runtime.database.db;
    const kept = async () => {
      const all = await tableDigests(runtime.database);
      return Object.fromEntries(KEPT_BY_RESTORE.map((t) => [t, all[t]]));
    };
    const schema = await schemaOf(runtime.database);
    const before = { oid: await oidOf(runtime.database, "audit_log"), kept: await kept() };
    const made = await createBackup(runtime.database, {
      backupDir: dir,
      actor: ACTOR,
      appVersion: "test",
      key: null,
    });
    // Changed after the backup: the restore takes the club back to the backup's rows.
    await createMember(runtime, ["member"], "After The Backup");
    const restored = await restoreInto(runtime.database, made.dir, null, {
      keep: KEPT_BY_RESTORE,
      readBack: true,
      stageAtRows: 1,
    });
    assert.equal(restored.id, made.id);
    assert.notEqual(await oidOf(runtime.database, "audit_log"), before.oid, "the audit log was swapped in");
    assert.deepEqual(await kept(), before.kept, "the kept tables are as they were");
    assert.deepEqual(await schemaOf(runtime.database), schema);
    assert.equal(
      (
        await sql<{
          n: number;
        }>`SELECT count(*)::int AS n FROM members WHERE name LIKE 'After The Backup%'`.execute(db)
      ).rows[0]!.n,
      0,
    );
    // The app writes on: an action's audit entry goes into the swapped-in log, and the sealer chains it.
    const member = await createMember(runtime, ["member"], "After The Restore");
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM audit_log WHERE subject_id = ${member.memberId}`.execute(db);
    assert.ok(rows[0]!.n >= 1);
    await sealAll(runtime.database, runtime.config.backupDir);
    const { rows: unsealed } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log
      WHERE seq > (SELECT max(seq) FROM audit_chain)`.execute(db);
    assert.equal(unsealed[0]!.n, 0);
  });

  test("[G01] a staged table whose data is damaged fails the restore and leaves the database and its tables as they were", async () => {
    const target = await openTestDatabase("postgres");
    const damaged = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-restore-staged-damaged-"));
    try {
      fs.cpSync(bundle, damaged, { recursive: true });
      const audit = fs.readdirSync(damaged).find((f) => f.startsWith("audit_log."))!;
      flipByte(path.join(damaged, audit));
      const before = {
        digests: await tableDigests(target.database),
        oid: await oidOf(target.database, "audit_log"),
      };
      await assert.rejects(
        restoreInto(target.database, damaged, null, { stageAtRows: 1 }),
        (error: Error) => {
          assert.match(
            error.message,
            /audit_log.*(cannot be read|cannot be loaded into audit_log|not what its manifest recorded).*undone/s,
          );
          return true;
        },
      );
      assert.deepEqual(await tableDigests(target.database), before.digests);
      assert.equal(await oidOf(target.database, "audit_log"), before.oid, "nothing was swapped");
      assert.deepEqual(await stages(target.database), [], "the stage schema is gone");
    } finally {
      await target.drop();
      fs.rmSync(damaged, { recursive: true, force: true });
    }
  });

  test("[G01] a stage schema a stopped restore left (copies of the club's rows) is removed by the next restore", async () => {
    const target = await openTestDatabase("postgres");
    try {
      await sql`CREATE SCHEMA clubos_restore_000000000000`.execute(target.database.db);
      await sql`CREATE TABLE clubos_restore_000000000000.members AS SELECT * FROM members`.execute(
        target.database.db,
      );
      await restoreInto(target.database, bundle, null);
      assert.deepEqual(await stages(target.database), []);
    } finally {
      await target.drop();
    }
  });

  test("[G01] the definition a swap is checked against changes with every part of a table it covers", async () => {
    const target = await openTestDatabase("postgres");
    try {
      const db = target.database.db;
      const query = async <R>(text: string) => (await sql.raw<R>(text).execute(db)).rows;
      const changes = [
        sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
        sql`DROP TRIGGER audit_log_no_truncate ON audit_log`,
        sql`DROP INDEX audit_log_actor`,
        sql`ALTER TABLE audit_log ALTER COLUMN reason SET DEFAULT 'x'`,
        sql`ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_seq_fkey`,
        sql`ALTER SEQUENCE audit_log_seq_seq OWNED BY NONE`,
        sql`CREATE OR REPLACE FUNCTION clubos_audit_entry_hash(e audit_log) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$`,
      ];
      for (const change of changes) {
        const was = await definitionOf(query, "audit_log");
        await change.execute(db);
        assert.notEqual(await definitionOf(query, "audit_log"), was, change.compile(db).sql);
      }
    } finally {
      await target.drop();
    }
  });
});
