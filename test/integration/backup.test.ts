import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { before, test } from "node:test";
import zlib from "node:zlib";
import { sql } from "kysely";
import { backupKeyWarning, sampleRead } from "../../src/app/backup-env.ts";
import { runCli } from "../../src/app/cli.ts";
import { loadConfig } from "../../src/app/config.ts";
import { allInvariantChecks } from "../../src/app/invariants.ts";
import { runAction } from "../../src/core/action.ts";
import { actorRef, operatorActor, systemActor } from "../../src/core/actor.ts";
import { chainHead } from "../../src/core/audit-chain.ts";
import { CHUNK_BYTES, DecryptStream, EncryptStream } from "../../src/core/backup/crypto.ts";
import {
  createBackup,
  type DrillScratch,
  drillBackup,
  FolderTarget,
  incompleteBackups,
  keyFingerprint,
  listBackups,
  loadBackupKey,
  restoreInto,
  verifyBackup,
} from "../../src/core/backup/index.ts";
import type { ClubError } from "../../src/core/errors.ts";
import { runChecks } from "../../src/core/invariants.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { startTestApp, suiteApp } from "../helpers/app.ts";
import { cliEnv, tamperCommitted } from "../helpers/audit.ts";
import { allBytes, flipByte, newKey, SECRET_MEMBER, seedClub, tableDigests } from "../helpers/backup.ts";
import {
  forEachEngine,
  openTestDatabase,
  postgresOnly,
  postgresUnavailable,
  SERVER_URL,
} from "../helpers/engines.ts";

const ACTOR = actorRef(operatorActor("backup-test"));
const opts = (backupDir: string, key: Buffer | null) => ({
  backupDir,
  actor: ACTOR,
  appVersion: "test",
  key,
  checks: allInvariantChecks(),
});
// On PostgreSQL the drill restores into a scratch database it creates on the server (and drops).
let drillScratchFor: DrillScratch = { kind: "pglite" };
const drillOptions = (anchorsDir: string, key: Buffer | null) => ({
  scratch: drillScratchFor,
  key,
  actor: ACTOR,
  checks: allInvariantChecks(),
  sampleRead,
  anchorsDir,
});
const scratchDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "clubos-backup-test-"));

forEachEngine("backups", (engine) => {
  const suite = suiteApp(engine);
  const key = newKey();
  before(() => {
    drillScratchFor =
      engine === "postgres" ? { kind: "postgres", serverUrl: SERVER_URL } : { kind: "pglite" };
  });

  test("[G01] a backup restores table for table and row for row, and its manifest describes it", async () => {
    const { runtime, dirs } = suite.get();
    await seedClub(runtime);
    // The database as the snapshot holds it: the backup's invariant scan reads the snapshot, so its
    // record (the run, the chain checkpoint) is written after it, to the database and not the bundle.
    let before: Record<string, string> = {};
    const made = await createBackup(runtime.database, {
      ...opts(dirs.backup, key),
      onProgress: async (event) => {
        if (event.step === "snapshot") before = await tableDigests(runtime.database);
      },
    });
    const m = made.manifest;
    assert.ok(!m.tables.some((t) => t.name.startsWith("schema_")), "migration bookkeeping is not data");
    assert.equal(m.tables.find((t) => t.name === "members")!.rows, Number(before.members!.split(":")[0]));
    assert.deepEqual(m.auditChain.head, await chainHead(runtime.database));
    assert.ok(m.auditChain.anchors >= 1, "the anchor seedClub wrote is counted");
    assert.equal(m.invariants?.ok, true);
    assert.equal(m.encryption?.keyFingerprint, keyFingerprint(key));
    assert.equal(m.source.engine, engine);
    assert.ok(m.schema.migrations.length > 10 && m.schema.functions.length > 0);
    const target = await openTestDatabase(engine);
    try {
      await restoreInto(target.database, made.dir, key);
      assert.deepEqual(await tableDigests(target.database), before);
      // The content versions come back with new values: no server takes what it kept for the data now.
      const versions = (db: typeof target.database.db) =>
        sql<{ name: string; version: string }>`SELECT name, version::text FROM content_versions ORDER BY name`
          .execute(db)
          .then((r) => r.rows);
      const [was, now] = [await versions(runtime.database.db), await versions(target.database.db)];
      assert.deepEqual(
        now.map((v) => v.name),
        was.map((v) => v.name),
      );
      for (const [i, v] of now.entries()) assert.notEqual(v.version, was[i]!.version, v.name);
      // Sequences carry on where the source's were: the next audit entry does not reuse a seq.
      const { rows } = await sql<{ v: number }>`SELECT last_value AS v FROM audit_log_seq_seq`.execute(
        target.database.db,
      );
      assert.ok(Number(rows[0]!.v) >= m.auditChain.head!.seq);
    } finally {
      await target.drop();
    }
  });

  test("[G01] a flipped byte fails verify, naming the file, and fails the drill", async () => {
    const { runtime, dirs } = suite.get();
    const made = await createBackup(runtime.database, opts(dirs.backup, key));
    assert.equal((await verifyBackup(made.dir, key)).ok, true);
    const members = made.manifest.tables.find((t) => t.name === "members")!;
    flipByte(path.join(made.dir, members.file));
    const verified = await verifyBackup(made.dir, key);
    assert.equal(verified.ok, false);
    assert.ok(verified.problems.some((p) => p.file === members.file));
    const drill = await drillBackup(made.dir, drillOptions(dirs.backup, key));
    assert.equal(drill.ok, false);
    assert.equal(drill.steps[0]!.name, "verify");
    const listed = listBackups(dirs.backup).find((b) => b.id === made.id)!;
    assert.equal(listed.checksum.state, "failed");
    assert.equal(listed.drill.state, "failed");
  });

  test("[G01] the restore itself refuses a damaged file even without verify (authenticated chunks)", async () => {
    const { runtime, dirs } = suite.get();
    const made = await createBackup(runtime.database, opts(dirs.backup, key));
    const members = made.manifest.tables.find((t) => t.name === "members")!;
    flipByte(path.join(made.dir, members.file), 50);
    const target = await openTestDatabase(engine);
    try {
      await assert.rejects(restoreInto(target.database, made.dir, key), /fails authentication/);
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM members`.execute(
        target.database.db,
      );
      assert.equal(Number(rows[0]!.n), 0, "nothing was loaded");
    } finally {
      await target.drop();
    }
  });

  test("[G01] a target that stores fewer rows than the bundle holds is refused and left as it was", async () => {
    const { runtime, dirs } = suite.get();
    const made = await createBackup(runtime.database, opts(dirs.backup, key));
    const target = await openTestDatabase(engine);
    try {
      // A trigger of the target's own that fires even during the load (ALWAYS) and drops every row: the
      // bytes read are the manifest's, but the table would hold nothing.
      await sql`CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`.execute(
        target.database.db,
      );
      await sql`CREATE TRIGGER drop_rows BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION drop_row()`.execute(
        target.database.db,
      );
      await sql`ALTER TABLE members ENABLE ALWAYS TRIGGER drop_rows`.execute(target.database.db);
      await assert.rejects(
        restoreInto(target.database, made.dir, key),
        (e: ClubError) => e.code === "backup_damaged" && /stored 0 rows/.test(e.message),
      );
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM events`.execute(target.database.db);
      assert.equal(Number(rows[0]!.n), 0, "nothing of the restore stayed");
    } finally {
      await target.drop();
    }
  });

  test("[G01] a wrong key is refused naming both fingerprints; no key names the one needed", async () => {
    const { runtime, dirs } = suite.get();
    const made = await createBackup(runtime.database, opts(dirs.backup, key));
    const other = newKey();
    await assert.rejects(
      verifyBackup(made.dir, other),
      (e: ClubError) =>
        e.code === "backup_key_mismatch" &&
        e.message.includes(`made with key ${keyFingerprint(key)}, the key given is ${keyFingerprint(other)}`),
    );
    await assert.rejects(verifyBackup(made.dir, null), (e: ClubError) =>
      e.message.includes(keyFingerprint(key)),
    );
  });

  test("[G01] an encrypted bundle holds no member's name or email; a plain one does", async () => {
    const { runtime, dirs } = suite.get();
    const secret = await createBackup(runtime.database, opts(dirs.backup, key));
    const bytes = allBytes(secret.dir);
    assert.equal(bytes.includes(SECRET_MEMBER.email), false);
    assert.equal(bytes.includes(SECRET_MEMBER.name), false);
    const members = secret.manifest.tables.find((t) => t.name === "members")!;
    assert.throws(() => zlib.brotliDecompressSync(fs.readFileSync(path.join(secret.dir, members.file))));
    // Without the key the same data is only compressed: the mechanism is what hides it.
    const plain = await createBackup(runtime.database, opts(dirs.backup, null));
    assert.equal(plain.manifest.encryption, null);
    const plainMembers = plain.manifest.tables.find((t) => t.name === "members")!;
    const text = zlib
      .brotliDecompressSync(fs.readFileSync(path.join(plain.dir, plainMembers.file)))
      .toString();
    assert.ok(text.includes(SECRET_MEMBER.email));
    assert.equal((await verifyBackup(plain.dir, null)).ok, true);
  });

  test("[G01] a backup that fails midway is removed and never listed", async () => {
    const { runtime, dirs } = suite.get();
    const before = listBackups(dirs.backup).length;
    let gaveUp = false;
    const late: string[] = [];
    await assert.rejects(
      createBackup(runtime.database, {
        ...opts(dirs.backup, key),
        onProgress: (event) => {
          if (gaveUp) late.push(event.step === "table" ? event.table : event.step);
          if (event.step === "table" && event.table === "members" && !event.finished) {
            throw new Error("disk unplugged while writing members");
          }
        },
      }).finally(() => {
        gaveUp = true;
      }),
      (e: ClubError) => e.code === "backup_failed" && /disk unplugged/.test(e.message),
    );
    await new Promise((r) => setTimeout(r, 300));
    // Every lane had stopped before it gave up: none wrote into the folder while it was removed.
    assert.deepEqual(late, [], "no table was still being written after the backup failed");
    assert.equal(listBackups(dirs.backup).length, before);
    assert.deepEqual(incompleteBackups(dirs.backup), []);
  });

  test("[G01] restore refuses a database at another schema version and leaves it as it was", async () => {
    const { runtime, dirs } = suite.get();
    const made = await createBackup(runtime.database, opts(dirs.backup, key));
    const target = await openTestDatabase(engine);
    try {
      await sql`INSERT INTO schema_migrations (name, checksum) VALUES ('9999_from_the_future.sql', 'x')`.execute(
        target.database.db,
      );
      const digests = await tableDigests(target.database);
      await assert.rejects(
        restoreInto(target.database, made.dir, key),
        (e: ClubError) =>
          e.code === "backup_schema_mismatch" && e.message.includes("9999_from_the_future.sql"),
      );
      assert.deepEqual(await tableDigests(target.database), digests);
    } finally {
      await target.drop();
    }
  });

  test("[G01] the off-site folder copy is verified, listed, and its damage is found", async () => {
    const { runtime, dirs } = suite.get();
    const copyDir = scratchDir();
    const target = new FolderTarget(copyDir);
    const made = await createBackup(runtime.database, { ...opts(dirs.backup, key), targets: [target] });
    assert.equal(made.copies[0]?.ok, true);
    const listed = listBackups(dirs.backup).find((b) => b.id === made.id)!;
    assert.deepEqual(listed.locations, [made.dir, path.join(copyDir, made.id)]);
    assert.deepEqual(await target.list(), [made.id]);
    const file = made.manifest.tables.find((t) => t.name === "audit_log")!.file;
    flipByte(path.join(copyDir, made.id, file));
    const problems = await target.verify(made.id, made.manifest);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.file, file);
    fs.rmSync(copyDir, { recursive: true, force: true });
  });

  test("[G01] a drill passes on a good backup, and fails on a backup whose data breaks an invariant", async () => {
    const { runtime, dirs } = suite.get();
    const good = await createBackup(runtime.database, opts(dirs.backup, key));
    assert.equal(listBackups(dirs.backup).find((b) => b.id === good.id)!.drill.state, "untrusted");
    const drill = await drillBackup(good.dir, drillOptions(dirs.backup, key));
    assert.deepEqual(
      drill.steps.map((s) => [s.name, s.ok]),
      [
        ["verify", true],
        ["restore", true],
        ["invariants", true],
        ["audit_chain", true],
        ["sample_read", true],
      ],
      JSON.stringify(drill.steps),
    );
    assert.match(drill.steps[4]!.detail, /read [1-9]\d* members/);
    assert.equal(listBackups(dirs.backup).find((b) => b.id === good.id)!.drill.state, "passed");
    assert.equal(drill.scratch, engine);

    const { rows } = await sql<{
      id: string;
      status: string;
    }>`SELECT id, status FROM members LIMIT 1`.execute(runtime.database.db);
    const member = rows[0]!;
    await tamperCommitted(runtime.database, (db) =>
      sql`UPDATE members SET status = 'lapsed' WHERE id = ${member.id}`.execute(db.db),
    );
    try {
      const bad = await createBackup(runtime.database, opts(dirs.backup, key));
      assert.equal(bad.manifest.invariants?.ok, false, "the manifest records the scan at backup time");
      const failed = await drillBackup(bad.dir, drillOptions(dirs.backup, key));
      assert.equal(failed.ok, false);
      const step = failed.steps.find((s) => s.name === "invariants")!;
      assert.equal(step.ok, false);
      assert.match(step.detail, /members\.status_history_current/);
      assert.equal(listBackups(dirs.backup).find((b) => b.id === bad.id)!.drill.state, "failed");
    } finally {
      await tamperCommitted(runtime.database, (db) =>
        sql`UPDATE members SET status = ${member.status} WHERE id = ${member.id}`.execute(db.db),
      );
    }
  });

  test("[G01] a drill fails when the audit log in the backup was tampered with", async () => {
    const { runtime, dirs } = suite.get();
    const { rows } = await sql<{ seq: number; action: string }>`
      SELECT a.seq, a.action FROM audit_log a JOIN audit_chain c USING (seq) ORDER BY a.seq LIMIT 1`.execute(
      runtime.database.db,
    );
    const entry = rows[0]!;
    await tamperCommitted(runtime.database, (db) =>
      sql`UPDATE audit_log SET action = 'tampered.entry' WHERE seq = ${entry.seq}`.execute(db.db),
    );
    try {
      const made = await createBackup(runtime.database, opts(dirs.backup, key));
      const drill = await drillBackup(made.dir, drillOptions(dirs.backup, key));
      const step = drill.steps.find((s) => s.name === "audit_chain");
      assert.equal(step?.ok, false, JSON.stringify(drill.steps));
      assert.match(step!.detail, /edited/);
    } finally {
      await tamperCommitted(runtime.database, (db) =>
        sql`UPDATE audit_log SET action = ${entry.action} WHERE seq = ${entry.seq}`.execute(db.db),
      );
    }
  });

  test("[G01] the CLI creates, lists, verifies and drills, each recorded in the audit log, in read-only mode too", async () => {
    const { runtime } = suite.get();
    const { env, lines, progress } = cliEnv(runtime);
    assert.equal(
      await runCli(["mode", "set", "read-only", "--actor", "ops", "--reason", "incident"], env),
      0,
    );
    try {
      assert.equal(await runCli(["backup", "create", "--actor", "alice"], env), 0, lines.join("\n"));
      assert.ok(
        lines.some((l) => l.startsWith("WARNING: Backups are NOT encrypted")),
        "no key: a warning",
      );
      assert.ok(
        progress.some((p) => /^table members: \d+ rows, /.test(p)),
        progress.join("\n"),
      );
      const id = /Backup (\S+):/.exec(lines.find((l) => l.startsWith("Backup "))!)![1]!;
      lines.length = 0;
      assert.equal(await runCli(["backup", "list", "--json"], env), 0);
      const listed = JSON.parse(lines.join("\n")) as {
        backups: Array<{ id: string; drill: { state: string } }>;
      };
      assert.equal(listed.backups[0]!.id, id);
      assert.equal(listed.backups[0]!.drill.state, "untrusted");
      assert.equal(await runCli(["backup", "verify", id, "--actor", "alice"], env), 0, lines.join("\n"));
      assert.equal(await runCli(["backup", "drill", "--actor", "alice"], env), 0, lines.join("\n"));
      assert.ok(lines.some((l) => l.includes("it is trusted")));
      const { rows } = await sql<{ action: string; actor: string }>`
        SELECT action, actor_id AS actor FROM audit_log WHERE subject_type = 'backup' AND subject_id = ${id} ORDER BY seq`.execute(
        runtime.database.db,
      );
      assert.deepEqual(
        rows.map((r) => r.action),
        ["backup.created", "backup.verified", "backup.drilled"],
      );
      assert.ok(rows.every((r) => r.actor === "operator:alice"));
      // Deleting is an admin change: refused in read-only mode, and nothing is deleted.
      assert.equal(await runCli(["backup", "delete", id, "--actor", "alice", "--reason", "test"], env), 2);
      assert.ok(listBackups(runtime.config.backupDir).some((b) => b.id === id));
    } finally {
      await runCli(["mode", "set", "normal", "--actor", "ops", "--reason", "done"], env);
    }
  });
});

forEachEngine("backups while the server runs", (engine) => {
  const suite = suiteApp(engine);

  test("[G01] the server answers while a backup of it is being written", async () => {
    const { runtime, dirs, baseUrl } = suite.get();
    await seedClub(runtime);
    let answered: number | null = null;
    let tablesDone = 0;
    const made = await createBackup(runtime.database, {
      ...opts(dirs.backup, null),
      onProgress: async (event) => {
        if (event.step === "table" && event.finished) tablesDone++;
        if (event.step !== "snapshot") return;
        // The snapshot is taken and not one table is written yet: a page that reads the database answers.
        const response = await fetch(`${baseUrl}/events`);
        await response.text();
        answered = response.status;
        assert.equal(tablesDone, 0);
      },
    });
    assert.equal(answered, 200);
    assert.ok(made.manifest.tables.length > 10);
  });

  test("[G01] a write made while the backup runs is not in it: every table is read as of one instant", async () => {
    const { runtime, dirs } = suite.get();
    const count = async (table: string) =>
      Number(
        (await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(runtime.database.db))
          .rows[0]!.n,
      );
    const before = await count("members");
    const history = await count("member_status_history");
    const made = await createBackup(runtime.database, {
      ...opts(dirs.backup, null),
      checks: undefined,
      onProgress: async (event) => {
        if (event.step !== "snapshot") return;
        for (let i = 0; i < 3; i++) {
          await runAction(runtime.actionEnv(systemActor("test")), createMemberRecord, {
            name: `Late Member ${i}`,
            email: `late${i}-${Date.now()}@example.org`,
          });
        }
      },
    });
    assert.equal(await count("members"), before + 3);
    const table = (name: string) => made.manifest.tables.find((t) => t.name === name)!.rows;
    assert.equal(table("members"), before);
    // The status history written with each new member is absent too: no half of a later transaction.
    assert.equal(table("member_status_history"), history);
  });
});

forEachEngine("a backup's invariant scan", (engine) => {
  const suite = suiteApp(engine);

  test("[G01] the scan reads the snapshot: a violation written after it is neither backed up nor reported", async () => {
    const { runtime, dirs } = suite.get();
    await seedClub(runtime);
    // A tally off by five, written with the triggers off as a repair script could: events.tallies finds it.
    const skewTallies = (by: number) =>
      runtime.database.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL session_replication_role = replica`.execute(trx);
        await sql`UPDATE event_tallies SET confirmed_seats = confirmed_seats + ${by}`.execute(trx);
      });
    try {
      const made = await createBackup(runtime.database, {
        ...opts(dirs.backup, null),
        onProgress: async (event) => {
          if (event.step === "snapshot") await skewTallies(5);
        },
      });
      assert.equal(made.manifest.invariants?.ok, true, JSON.stringify(made.manifest.invariants));
      const live = await runChecks(runtime.database, "system:test", allInvariantChecks());
      assert.ok(
        live.checks.some((c) => c.id === "events.tallies" && c.violations > 0),
        "the live database holds the violation the backup's scan did not see",
      );
    } finally {
      await skewTallies(-5);
    }
  });
});

postgresOnly("backups losing their connection", () => {
  const suite = suiteApp("postgres");

  test("[G01] a backup whose server connections are cut midway fails, is removed and never listed", async () => {
    const { runtime, dirs } = suite.get();
    await seedClub(runtime);
    await assert.rejects(
      createBackup(runtime.database, {
        ...opts(dirs.backup, null),
        onProgress: async (event) => {
          if (event.step !== "snapshot") return;
          await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = 'clubos-backup'`.execute(runtime.database.db);
        },
      }),
      (e: ClubError) => e.code === "backup_failed",
    );
    assert.deepEqual(listBackups(dirs.backup), []);
    assert.deepEqual(incompleteBackups(dirs.backup), []);
  });
});

test("[G01] a PGlite backup restores into a PostgreSQL database (moving to a server)", {
  skip: postgresUnavailable() ?? false,
}, async () => {
  const app = await startTestApp("pglite");
  const source = { database: app.runtime.database, drop: () => app.close() };
  const dir = scratchDir();
  const key = newKey();
  try {
    await seedClub(app.runtime);
    // gzip here (brotli is the default elsewhere): a bundle reads back with the codec its manifest names.
    let before: Record<string, string> = {};
    const made = await createBackup(source.database, {
      ...opts(dir, key),
      compression: { codec: "gzip", level: 3 },
      onProgress: async (event) => {
        if (event.step === "snapshot") before = await tableDigests(source.database);
      },
    });
    assert.match(made.manifest.tables[0]!.file, /\.copy\.gz\.enc$/);
    const target = await openTestDatabase("postgres");
    try {
      await restoreInto(target.database, made.dir, key);
      assert.deepEqual(await tableDigests(target.database), before);
      // And back: PostgreSQL to PGlite (without a new scan, which would add a row to compare).
      const again = await createBackup(target.database, { ...opts(dir, key), checks: undefined });
      const back = await openTestDatabase("pglite");
      try {
        await restoreInto(back.database, again.dir, key);
        assert.deepEqual(await tableDigests(back.database), before);
      } finally {
        await back.drop();
      }
    } finally {
      await target.drop();
    }
  } finally {
    await source.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("[G01] backup storage and key inside the data folder, or a copy in the backup folder, are refused", () => {
  const root = scratchDir();
  const data = path.join(root, "data");
  const backups = path.join(root, "backups");
  const base = { CLUBOS_DATA_DIR: data, CLUBOS_BACKUP_DIR: backups };
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_DIR: path.join(data, "b") }),
    /must not be inside CLUBOS_DATA_DIR/,
  );
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_COPY_DIR: path.join(data, "copy") }),
    /CLUBOS_BACKUP_COPY_DIR must not be inside/,
  );
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_COPY_DIR: backups }),
    /another folder than CLUBOS_BACKUP_DIR/,
  );
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_KEY_FILE: path.join(backups, "key") }),
    /must not be inside CLUBOS_BACKUP_DIR/,
  );
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_KEY_FILE: path.join(data, "key") }),
    /must not be inside CLUBOS_DATA_DIR/,
  );
  // The core refuses it too, for callers that do not go through the configuration.
  assert.throws(
    () => loadBackupKey({ keyFile: path.join(backups, "key"), dataDir: data, backupDir: backups }),
    (e: ClubError) => e.code === "backup_config_invalid",
  );
  const config = loadConfig({ ...base, CLUBOS_BACKUP_COPY_DIR: path.join(root, "offsite") });
  assert.match(backupKeyWarning(config) ?? "", /NOT encrypted/);
  assert.equal(
    backupKeyWarning(loadConfig({ ...base, CLUBOS_BACKUP_KEY: newKey().toString("base64") })),
    null,
  );
  fs.rmSync(root, { recursive: true, force: true });
});

test("clubos backup key create --file writes a 0600 key that loads, and refuses the backup folder", async () => {
  const root = scratchDir();
  const config = loadConfig({
    CLUBOS_DATA_DIR: path.join(root, "data"),
    CLUBOS_BACKUP_DIR: path.join(root, "backups"),
  });
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), progress: () => {} };
  const env = { io, config, withRuntime: async () => assert.fail("needs no database") };
  const file = path.join(root, "club.key");
  assert.equal(await runCli(["backup", "key", "create", "--file", file], env), 0);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const key = loadBackupKey({ keyFile: file, dataDir: config.dataDir, backupDir: config.backupDir })!;
  assert.ok(lines.some((l) => l.includes(keyFingerprint(key))));
  assert.ok(lines.some((l) => /OFF this machine/.test(l)));
  assert.equal(await runCli(["backup", "key", "create", "--file", path.join(config.backupDir, "k")], env), 2);
  fs.rmSync(root, { recursive: true, force: true });
});

test("[G01] an encrypted file cut short, cut at a chunk boundary, reordered or extended fails to decrypt", async () => {
  const key = newKey();
  const plain = Buffer.alloc(CHUNK_BYTES * 2 + 100, "club data ");
  const sealed = Buffer.concat(await Readable.from([plain]).pipe(new EncryptStream(key)).toArray());
  const open = async (bytes: Buffer) =>
    Buffer.concat(await Readable.from([bytes]).pipe(new DecryptStream(key, "t.copy.gz.enc")).toArray());
  assert.deepEqual(await open(sealed), plain);
  const header = 40;
  const frame = 5 + CHUNK_BYTES + 16;
  const chunk = (i: number) => sealed.subarray(header + i * frame, header + (i + 1) * frame);
  const cases: Record<string, Buffer> = {
    "cut short": sealed.subarray(0, sealed.length - 7),
    "cut at a chunk boundary": sealed.subarray(0, header + 2 * frame),
    reordered: Buffer.concat([
      sealed.subarray(0, header),
      chunk(1),
      chunk(0),
      sealed.subarray(header + 2 * frame),
    ]),
    "bytes appended": Buffer.concat([sealed, sealed.subarray(header, header + 50)]),
    "last-chunk flag flipped": Buffer.concat([
      sealed.subarray(0, header),
      Buffer.from([1]),
      sealed.subarray(header + 1),
    ]),
  };
  for (const [what, bytes] of Object.entries(cases)) {
    await assert.rejects(open(bytes), (e: ClubError) => e.code === "backup_damaged", what);
  }
});
