import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { actorRef, operatorActor } from "../../src/core/actor.ts";
import { readManifest, writeJsonDurably } from "../../src/core/backup/format.ts";
import { createBackup, restoreInto } from "../../src/core/backup/index.ts";
import { readTableFile, writeTableFile } from "../../src/core/backup/table-file.ts";
import { suiteApp } from "../helpers/app.ts";
import { schemaOf, seedClub, tableDigests } from "../helpers/backup.ts";
import { forEachEngine, openTestDatabase } from "../helpers/engines.ts";

// A restore drops the loaded tables' keys, their foreign keys and secondary indexes for the load and
// builds them again after it (bench:backup: what makes it as fast as pg_restore). These tests hold it
// to leaving the schema exactly as the migrations made it, and to refusing rows that break a key.

const ACTOR = actorRef(operatorActor("restore-test"));

forEachEngine("restore rebuilds keys and indexes", (engine) => {
  const suite = suiteApp(engine);

  test("[G01] after a restore every key, foreign key, index and trigger is as the migrations made it", async () => {
    const { runtime } = suite.get();
    await seedClub(runtime);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-restore-keys-"));
    const target = await openTestDatabase(engine);
    try {
      const made = await createBackup(runtime.database, {
        backupDir: dir,
        actor: ACTOR,
        appVersion: "test",
        key: null,
      });
      const migrated = await schemaOf(target.database);
      assert.ok(migrated.some((l) => /^constraint members\.members_pkey p PRIMARY KEY/.test(l)));
      assert.ok(
        migrated.some((l) =>
          /^constraint audit_chain\.\S+ f FOREIGN KEY \(seq\) REFERENCES audit_log\(seq\)/.test(l),
        ),
      );
      await restoreInto(target.database, made.dir, null);
      assert.deepEqual(await schemaOf(target.database), migrated);
      assert.deepEqual(await tableDigests(target.database), await tableDigests(runtime.database));
    } finally {
      await target.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("[G01] a bundle whose rows break a key (a member twice, checksums made to match) is refused and changes nothing", async () => {
    const { runtime } = suite.get(); // seeded by the test above
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-restore-keys-"));
    const target = await openTestDatabase(engine);
    try {
      const made = await createBackup(runtime.database, {
        backupDir: dir,
        actor: ACTOR,
        appVersion: "test",
        key: null,
      });
      const manifest = readManifest(made.dir);
      const members = manifest.tables.find((t) => t.name === "members")!;
      const file = path.join(made.dir, members.file);
      const parts: Buffer[] = [];
      for await (const part of readTableFile(file, {
        key: null,
        label: members.file,
        compression: manifest.compression,
      }))
        parts.push(part as Buffer);
      const text = Buffer.concat(parts).toString("utf8");
      const first = text.slice(0, text.indexOf("\n") + 1);
      const written = await writeTableFile(Readable.from([Buffer.from(first + text)]), file, {
        key: null,
        compression: manifest.compression,
      });
      Object.assign(members, written);
      writeJsonDurably(path.join(made.dir, "manifest.json"), manifest);

      const before = await tableDigests(target.database);
      await assert.rejects(restoreInto(target.database, made.dir, null), (error: Error) => {
        assert.match(error.message, /its rows break members_\w+ on members/);
        assert.match(error.message, /The restore was undone; the database is as it was/);
        return true;
      });
      assert.deepEqual(await tableDigests(target.database), before, "nothing was changed");
      assert.deepEqual(await schemaOf(target.database), await schemaOf(runtime.database));
    } finally {
      await target.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
