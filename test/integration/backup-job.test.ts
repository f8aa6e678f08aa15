import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { drillOf, takeBackup } from "../../src/app/backup-env.ts";
import { findJob } from "../../src/app/jobs.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { listAlerts } from "../../src/core/alerts.ts";
import { listBackups } from "../../src/core/backup/index.ts";
import { type Job, runJob } from "../../src/core/scheduler.ts";
import { backupJob } from "../../src/domains/ops/backup.job.ts";
import { backupDrillJob } from "../../src/domains/ops/backup-drill.job.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { flipByte, seedClub } from "../helpers/backup.ts";
import { forEachEngine } from "../helpers/engines.ts";

const HOUR = 60 * 60_000;

forEachEngine("scheduled backups and their alarm", (engine) => {
  const t = suiteApp(engine);
  // The job as the app builds it, but aimed at a backup folder of the test's choosing.
  const jobInto = (backupDir: string): Job =>
    backupJob({
      intervalMs: HOUR,
      backupDir: () => backupDir,
      take: (ctx, actor) => takeBackup({ ...t.get().config, backupDir }, ctx.database, actor),
    });
  const backupIncidents = () =>
    t
      .get()
      .runtime.database.db.selectFrom("incidents")
      .select(["number", "severity", "status", "title"])
      .where("opened_by", "=", "system:backup")
      .execute();
  const entriesOf = async (title: string) =>
    (
      await t
        .get()
        .runtime.database.db.selectFrom("incident_entries as e")
        .innerJoin("incidents as i", "i.id", "e.incident_id")
        .select("e.text")
        .where("i.title", "=", title)
        .execute()
    ).map((r) => r.text);

  test("the backup job is scheduled hourly and takes a verified backup, recorded in the audit log", async () => {
    const { runtime, config } = t.get();
    const listed = findJob("backup");
    assert.equal(listed?.intervalMs, HOUR);
    await seedClub(runtime);
    const result = await runJob(runtime, jobInto(config.backupDir));
    assert.equal(result.outcome, "ok", result.reason);
    const [newest] = listBackups(config.backupDir);
    assert.ok(newest, "a complete bundle is in the backup folder");
    const audit = await runtime.database.db
      .selectFrom("audit_log")
      .select(["subject_id", "after"])
      .where("action", "=", "backup.created")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(audit.subject_id, newest.id);
    assert.equal((audit.after as { ok: boolean }).ok, true);
    assert.deepEqual(await backupIncidents(), [], "one good backup opens nothing");
  });

  test("[G01] two failed backups in a row open a SEV-1 incident with a banner; a third adds to it", async () => {
    const { runtime, config } = t.get();
    // A backup folder that cannot be made: a file stands where the folder should be.
    const blocked = path.join(path.dirname(config.backupDir), "not-a-folder");
    fs.writeFileSync(blocked, "in the way");
    const job = jobInto(blocked);

    const first = await runJob(runtime, job);
    assert.equal(first.outcome, "failed");
    assert.deepEqual(await backupIncidents(), [], "one failure is retried, not yet an incident");

    const second = await runJob(runtime, job);
    assert.equal(second.outcome, "failed");
    assert.deepEqual(await backupIncidents(), [
      {
        number: (await backupIncidents())[0]!.number,
        severity: "SEV-1",
        status: "open",
        title: "Backups are failing",
      },
    ]);
    await runtime.modes.refresh();
    const alerts = await listAlerts(runtime.database.db);
    assert.ok(
      alerts.some((a) => a.severity === "critical" && /Backups are failing/.test(a.message)),
      JSON.stringify(alerts),
    );
    assert.match((await entriesOf("Backups are failing")).join("\n"), /The last two backups failed/);

    await runJob(runtime, job);
    assert.equal((await backupIncidents()).length, 1, "the same incident, not a second one");
    assert.equal((await entriesOf("Backups are failing")).length, 2);
  });

  test("[G01] a failure when the newest good backup is older than two intervals opens the SEV-1 at once", async () => {
    const { runtime, config } = t.get();
    await runtime.database.db
      .updateTable("incidents")
      .set({ status: "closed", review: "test", closed_by: "operator:test", closed_at: new Date() })
      .where("opened_by", "=", "system:backup")
      .execute();
    // A good backup now, so the last two attempts are not both failures.
    const ok = await runJob(runtime, jobInto(config.backupDir));
    assert.equal(ok.outcome, "ok", ok.reason);
    assert.equal((await backupIncidents()).filter((i) => i.status === "open").length, 0);
    // Three hours later one attempt fails: the newest good backup is now three intervals old.
    const blocked = path.join(path.dirname(config.backupDir), "still-not-a-folder");
    fs.writeFileSync(blocked, "in the way");
    const job = backupJob({
      intervalMs: HOUR,
      backupDir: () => config.backupDir,
      take: (ctx, actor) => takeBackup({ ...config, backupDir: blocked }, ctx.database, actor),
    });
    const later = await runJob(runtime, job, { now: new Date(Date.now() + 3 * HOUR) });
    assert.equal(later.outcome, "failed");
    const open = (await backupIncidents()).filter((i) => i.status === "open");
    assert.equal(open.length, 1, "opened on the age of the newest good backup, after a single failure");
  });

  test("[G01] retention prunes exactly what the policy no longer keeps, each deletion audited; read-only keeps all", async () => {
    const { runtime, config } = t.get();
    const dir = path.join(path.dirname(config.backupDir), "retained");
    const job = backupJob({
      intervalMs: HOUR,
      retention: { hourly: 1, daily: 1, monthly: 1 },
      backupDir: () => dir,
      take: (ctx, actor) => takeBackup({ ...config, backupDir: dir }, ctx.database, actor),
    });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await runJob(runtime, job);
      assert.equal(result.outcome, "ok", result.reason);
      const made = await runtime.database.db
        .selectFrom("audit_log")
        .select("subject_id")
        .where("action", "=", "backup.created")
        .orderBy("seq", "desc")
        .executeTakeFirstOrThrow();
      ids.push(made.subject_id);
    }
    assert.deepEqual(
      listBackups(dir).map((b) => b.id),
      [ids[2]],
      "three backups in one hour: the policy keeps the newest",
    );
    const deleted = await runtime.database.db
      .selectFrom("audit_log")
      .select(["subject_id", "reason"])
      .where("action", "=", "backup.deleted")
      .where("subject_id", "in", ids)
      .orderBy("seq")
      .execute();
    assert.deepEqual(
      deleted.map((d) => d.subject_id),
      [ids[0], ids[1]],
    );
    assert.ok(deleted.every((d) => /retention policy \(1 hourly, 1 daily, 1 monthly\)/.test(d.reason ?? "")));

    const operator = runtime.actionEnv(operatorActor("alice"));
    await runAction(operator, setMode, { mode: "read-only", reason: "retention test" });
    try {
      const result = await runJob(runtime, job);
      assert.equal(result.outcome, "ok", "backups go on in read-only mode");
      assert.equal(listBackups(dir).length, 2, "and nothing is pruned while writes are stopped");
    } finally {
      await runAction(operator, setMode, { mode: "normal", reason: "test over" });
    }
  });

  test("[G01] the scheduled drill trusts a good backup; a damaged one fails it and warns the operators until a drill passes", async () => {
    const { runtime, config } = t.get();
    const dir = path.join(path.dirname(config.backupDir), "drilled");
    const drilled: string[] = [];
    // Given the backup the job listed: drillOf would look in config.backupDir, not dir, on its own.
    const drills = backupDrillJob({
      intervalMs: 24 * HOUR,
      backupDir: () => dir,
      drill: (_ctx, actor, backup) => {
        drilled.push(backup.id);
        return drillOf(config, actor, { backup });
      },
    });
    const drillAlert = async () => {
      const alerts = await listAlerts(runtime.database.db);
      return alerts.find((a) => a.key === "backups.drill");
    };

    const nothing = await runJob(runtime, drills);
    assert.equal(nothing.outcome, "failed", "no backup to drill is a failure");
    assert.match((await drillAlert())?.message ?? "", /no backup to drill/);

    const backups = backupJob({
      intervalMs: HOUR,
      backupDir: () => dir,
      take: (ctx, actor) => takeBackup({ ...config, backupDir: dir }, ctx.database, actor),
    });
    assert.equal((await runJob(runtime, backups)).outcome, "ok");
    const passed = await runJob(runtime, drills);
    assert.equal(passed.outcome, "ok", passed.reason);
    assert.equal(listBackups(dir)[0]!.drill.state, "passed");
    assert.deepEqual(drilled, [listBackups(dir)[0]!.id], "the drill is of the backup the job listed");
    assert.equal(await drillAlert(), undefined, "a passing drill clears the warning");

    const [newest] = listBackups(dir);
    const members = newest!.manifest.tables.find((t) => t.name === "members")!;
    flipByte(path.join(newest!.dir, members.file));
    const failed = await runJob(runtime, drills);
    assert.equal(failed.outcome, "failed");
    assert.equal(listBackups(dir)[0]!.drill.state, "failed");
    const warning = await drillAlert();
    assert.equal(warning?.severity, "warning");
    assert.match(warning?.message ?? "", new RegExp(`drill of backup ${newest!.id} failed`));
  });
});
