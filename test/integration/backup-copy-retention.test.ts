import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { backupTargets, takeBackup } from "../../src/app/backup-env.ts";
import { runCli } from "../../src/app/cli.ts";
import type { Config } from "../../src/app/config.ts";
import { findJob } from "../../src/app/jobs.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { FolderTarget, listBackups } from "../../src/core/backup/index.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { backupJob } from "../../src/domains/ops/backup.job.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { startTestApp, type TestApp } from "../helpers/app.ts";
import { cliEnv } from "../helpers/audit.ts";
import { seedClub } from "../helpers/backup.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { startTestS3, type TestS3 } from "../helpers/s3.ts";

const HOUR = 60 * 60_000;

forEachEngine("retention prunes the off-site copies by the same policy", (engine) => {
  let s3: TestS3;
  let app: TestApp;
  let copyDir: string;

  before(async () => {
    s3 = await startTestS3();
    copyDir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-copy-"));
    app = await startTestApp(engine, {
      CLUBOS_BACKUP_COPY_DIR: copyDir,
      CLUBOS_BACKUP_S3_URL: `s3://${s3.bucket}/offsite`,
      CLUBOS_BACKUP_S3_ENDPOINT: s3.endpoint,
    });
    await seedClub(app.runtime);
  });
  after(async () => {
    await app?.close();
    await s3?.close();
    fs.rmSync(copyDir, { recursive: true, force: true });
  });

  // The job as the app wires it (folder, copy folder, bucket), with a policy that keeps one backup.
  const job = () =>
    backupJob<Config>({
      intervalMs: HOUR,
      retention: { hourly: 1, daily: 1, monthly: 1 },
      backupDir: (ctx) => ctx.config.backupDir,
      take: (ctx, actor) => takeBackup(ctx.config, ctx.database, actor),
      targets: (ctx) => backupTargets(ctx.config),
    });
  const where = async () => {
    const [folder, bucket] = backupTargets(app.config);
    return {
      primary: listBackups(app.config.backupDir).map((b) => b.id),
      folder: await folder!.list(),
      bucket: await bucket!.list(),
    };
  };
  const deletions = (id: string) =>
    app.runtime.database.db
      .selectFrom("audit_log")
      .select(["actor_id", "reason"])
      .where("action", "=", "backup.deleted")
      .where("subject_id", "=", id)
      .orderBy("seq")
      .execute();

  test("[G01] after a good backup, what the policy no longer keeps goes from the copy folder and the bucket too, each deletion audited with its place", async () => {
    const first = await runJob(app.runtime, job());
    assert.equal(first.outcome, "ok", first.reason);
    const [older] = listBackups(app.config.backupDir);
    assert.deepEqual(await where(), { primary: [older!.id], folder: [older!.id], bucket: [older!.id] });

    // A backup taken by hand is copied too, and pruned by the same policy as the scheduled ones.
    const cli = cliEnv(app.runtime);
    assert.equal(await runCli(["backup", "create", "--actor", "alice"], cli.env), 0, cli.lines.join("\n"));
    const manual = listBackups(app.config.backupDir)[0]!.id;
    assert.equal((await where()).bucket.length, 2, "the manual backup is in the bucket");

    const second = await runJob(app.runtime, job());
    assert.equal(second.outcome, "ok", second.reason);
    const [newest] = listBackups(app.config.backupDir);
    assert.deepEqual(await where(), { primary: [newest!.id], folder: [newest!.id], bucket: [newest!.id] });
    assert.match(second.summary?.detail ?? "", /6 older backup\(s\) pruned/);

    for (const id of [older!.id, manual]) {
      const entries = await deletions(id);
      assert.deepEqual(
        entries.map((e) => e.reason),
        [
          "retention policy (1 hourly, 1 daily, 1 monthly)",
          `retention policy (1 hourly, 1 daily, 1 monthly) in the copy at ${copyDir}`,
          `retention policy (1 hourly, 1 daily, 1 monthly) in the copy at s3://${s3.bucket}/offsite/`,
        ],
        id,
      );
      assert.ok(entries.every((e) => e.actor_id === "system:backup"));
    }
  });

  test("[G01] in read-only mode the copies are kept like the backup folder", async () => {
    const operator = app.runtime.actionEnv(operatorActor("alice"));
    await runAction(operator, setMode, { mode: "read-only", reason: "copy retention test" });
    try {
      const result = await runJob(app.runtime, job());
      assert.equal(result.outcome, "ok", result.reason);
      const now = await where();
      assert.equal(now.primary.length, 2);
      assert.deepEqual(now.folder, now.primary);
      assert.deepEqual(now.bucket, now.primary);
    } finally {
      await runAction(operator, setMode, { mode: "normal", reason: "test over" });
    }
  });

  test("[G01] the scheduled job as jobs.ts builds it prunes the copy folder by the default policy", async () => {
    // Forty old months in the copy folder only (the backup folder never had them). The default policy
    // (24 hourly, 30 daily, 12 monthly) keeps the newest backup of the 30 newest days that have one:
    // today's and the 29 newest planted; the 11 oldest go, and nothing else.
    const [source] = listBackups(app.config.backupDir);
    const planted: string[] = [];
    for (let month = 1; month <= 40; month++) {
      const year = 2020 + Math.floor((month - 1) / 12);
      const id = `${year}${String(((month - 1) % 12) + 1).padStart(2, "0")}01T000000Z-old${month}`;
      fs.cpSync(source!.dir, path.join(copyDir, id), { recursive: true });
      planted.push(id);
    }
    const result = await runJob(app.runtime, findJob("backup")!);
    assert.equal(result.outcome, "ok", result.reason);
    const held = await new FolderTarget(copyDir).list();
    for (const id of planted.slice(0, 11)) assert.ok(!held.includes(id), `${id} was pruned`);
    for (const id of planted.slice(11)) assert.ok(held.includes(id), `${id} was kept`);
    assert.equal((await deletions(planted[0]!)).length, 1, "its deletion is audited");
  });
});
