import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { backupTargets } from "../../src/app/backup-env.ts";
import { runCli } from "../../src/app/cli.ts";
import { loadConfig } from "../../src/app/config.ts";
import { actorRef, operatorActor } from "../../src/core/actor.ts";
import {
  copyToTarget,
  createBackup,
  listBackups,
  parseS3Url,
  restoreInto,
  S3Target,
  verifyBackup,
} from "../../src/core/backup/index.ts";
import { startTestApp, type TestApp } from "../helpers/app.ts";
import { cliEnv } from "../helpers/audit.ts";
import { newKey, seedClub, tableDigests } from "../helpers/backup.ts";
import { forEachEngine, openTestDatabase } from "../helpers/engines.ts";
import { startTestS3, type TestS3 } from "../helpers/s3.ts";

const PREFIX = "clubos/offsite";

forEachEngine("the off-site copy in an S3-compatible bucket", (engine) => {
  let s3: TestS3;
  let app: TestApp;
  const key = newKey();
  const target = () => new S3Target(parseS3Url(`s3://${s3.bucket}/${PREFIX}`, s3.endpoint));

  before(async () => {
    s3 = await startTestS3();
    app = await startTestApp(engine, {
      CLUBOS_BACKUP_S3_URL: `s3://${s3.bucket}/${PREFIX}`,
      CLUBOS_BACKUP_S3_ENDPOINT: s3.endpoint,
      CLUBOS_BACKUP_KEY: key.toString("base64"),
    });
    await seedClub(app.runtime);
  });
  after(async () => {
    await app?.close();
    await s3?.close();
  });

  test("[G01] clubos backup create copies every new backup to the bucket and verifies it there; the copy restores", async () => {
    const cli = cliEnv(app.runtime);
    assert.equal(await runCli(["backup", "create", "--actor", "alice"], cli.env), 0, cli.lines.join("\n"));
    const text = cli.lines.join("\n");
    assert.match(text, new RegExp(`Copied to s3://${s3.bucket}/${PREFIX}/ and verified`));
    const [newest] = listBackups(app.config.backupDir);
    assert.ok(newest);
    assert.deepEqual(
      newest.copies.map((c) => [c.kind, c.ok]),
      [["s3", true]],
    );
    assert.deepEqual(await target().list(), [newest.id]);

    // The copy alone is enough: downloaded, it verifies with the key and restores to the same rows.
    const downloaded = await target().read(newest.id);
    try {
      assert.equal((await verifyBackup(downloaded, key)).ok, true);
      const fresh = await openTestDatabase(engine);
      try {
        await restoreInto(fresh.database, downloaded, key);
        const restored = await tableDigests(fresh.database);
        const source = await tableDigests(app.runtime.database);
        // The club's records as they are now; the audit log has grown since (the backup's own entry).
        for (const table of ["members", "events", "registrations", "committees"]) {
          assert.equal(restored[table], source[table], table);
        }
        const auditRows = newest.manifest.tables.find((t) => t.name === "audit_log")!.rows;
        assert.equal(restored.audit_log?.split(":")[0], String(auditRows));
      } finally {
        await fresh.drop();
      }
    } finally {
      fs.rmSync(downloaded, { recursive: true, force: true });
    }
  });

  test("[G01] a damaged object in the bucket fails the copy's verification, naming the file", async () => {
    const made = await createBackup(app.runtime.database, {
      backupDir: app.config.backupDir,
      actor: actorRef(operatorActor("s3-test")),
      appVersion: "test",
      key,
      targets: [target()],
    });
    assert.equal(made.copies[0]?.ok, true);
    const members = made.manifest.tables.find((t) => t.name === "members")!;
    assert.deepEqual(await target().verify(made.id, made.manifest), []);

    const client = new S3Client({
      region: "us-east-1",
      endpoint: s3.endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
    const bytes = fs.readFileSync(path.join(made.dir, members.file));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${made.id}/${members.file}`, Body: bytes }),
    );
    const problems = await target().verify(made.id, made.manifest);
    assert.deepEqual(
      problems.map((p) => p.file),
      [members.file],
    );
    assert.match(problems[0]!.message, /damaged or altered/);
  });

  test("[G01] an unreachable bucket is a failed copy, said so, and the backup itself is still complete", async () => {
    const unreachable = new S3Target(parseS3Url(`s3://${s3.bucket}/x`, "http://127.0.0.1:9"));
    const made = await createBackup(app.runtime.database, {
      backupDir: app.config.backupDir,
      actor: actorRef(operatorActor("s3-test")),
      appVersion: "test",
      key,
    });
    const record = await copyToTarget(made.dir, made.manifest, unreachable);
    assert.equal(record.ok, false);
    assert.match(record.problems[0]!.message, /The copy to s3:\/\/club-backups\/x\/ failed/);
    const listed = listBackups(app.config.backupDir).find((b) => b.id === made.id);
    assert.ok(listed, "the local backup is listed");
    assert.deepEqual(
      listed.copies.map((c) => c.ok),
      [false],
    );
    assert.equal((await verifyBackup(made.dir, key)).ok, true);
  });
});

test("the bucket address is checked when ClubOS starts: no credentials in it, an s3:// address, an http(s) endpoint", () => {
  const base = { CLUBOS_DATA_DIR: "/srv/club/data", CLUBOS_BACKUP_DIR: "/srv/club/backups" };
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_S3_URL: "s3://key:secret@bucket" }),
    /must not contain credentials/,
  );
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_S3_URL: "https://bucket" }),
    /must look like s3:\/\//,
  );
  assert.throws(
    () => loadConfig({ ...base, CLUBOS_BACKUP_S3_URL: "s3://bucket", CLUBOS_BACKUP_S3_ENDPOINT: "ftp://x" }),
    /must be an http\(s\) address/,
  );
  const config = loadConfig({
    ...base,
    CLUBOS_BACKUP_S3_URL: "s3://bucket/club/",
    CLUBOS_BACKUP_S3_REGION: "eu-west-1",
  });
  assert.deepEqual(config.backupS3, {
    bucket: "bucket",
    prefix: "club/",
    endpoint: undefined,
    region: "eu-west-1",
  });
  assert.deepEqual(
    backupTargets(config).map((t) => t.location),
    ["s3://bucket/club/"],
  );
});
