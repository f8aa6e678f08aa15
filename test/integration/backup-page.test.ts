import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readJobProgress, recordJobRun } from "../../src/core/job-progress.ts";
import { suiteApp } from "../helpers/app.ts";
import { seedClub } from "../helpers/backup.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { countRows, loggedIn } from "../helpers/identity.ts";

const PAGE = "/admin/system/backups";

forEachEngine("the backups section of the operator pages", (engine) => {
  const t = suiteApp(engine);
  const operator = () => loggedIn(t, ["member", "operator"]);
  const db = () => t.get().runtime.database.db;

  /** Waits until the job's latest run (by `by`, when given) has finished, and returns it. */
  async function finished(job: string, by?: string) {
    for (let i = 0; i < 600; i++) {
      const [run] = await readJobProgress(db(), [job]);
      if (run?.finishedAt && (!by || run.triggeredBy === by)) return run;
      await sleep(100);
    }
    throw new Error(`${job} did not finish`);
  }

  test("[G01] closed to everyone without backups:operate, like /admin/system: the page and its button refuse and write nothing", async () => {
    for (const roles of [["member"], ["member", "web_editor"], ["member", "membership_chair"]] as const) {
      const { client } = await loggedIn(t, [...roles]);
      // The capability guard refuses a signed-in person without the capability (403), as for /admin/system.
      assert.equal((await client.get("/admin/system")).status, 403, roles.join("+"));
      assert.equal((await client.get(PAGE)).status, 403, roles.join("+"));
      const before = await countRows(t, "audit_log");
      const post = await client.postForm(`${PAGE}/run`, { job: "backup" });
      assert.equal(post.status, 403, roles.join("+"));
      assert.equal(await countRows(t, "audit_log"), before);
      assert.deepEqual(await readJobProgress(db(), ["backup"]), []);
    }
  });

  test("[G01] with no backup the page says so and warns that backups are not encrypted", async () => {
    const { client } = await operator();
    const page = await client.get(PAGE);
    assert.equal(page.status, 200);
    assert.match(page.text, /id="backup-key-warning"[^>]*>Backups are NOT encrypted/);
    assert.match(page.text, /none: there is no good backup/);
    assert.match(page.text, /none: no backup is trusted yet/);
    assert.doesNotMatch(page.text, /http-equiv="refresh"/, "nothing runs, so no reload");
    assert.match((await client.get("/admin/system")).text, /href="\/admin\/system\/backups"/);
  });

  test("[G01] an operator takes a backup from the page: audited, run as the scheduled job, untrusted until a drill passes it", async () => {
    await seedClub(t.get().runtime);
    const { client, member } = await operator();
    const start = await client.postForm(`${PAGE}/run`, { job: "backup" }, PAGE);
    assert.equal(start.status, 303);
    const run = await finished("backup");
    assert.equal(run.outcome, "ok", run.detail ?? "");
    assert.equal(run.triggeredBy, `member:${member.memberId}`);
    assert.match(run.step, /copy|table|snapshot/, "the job's progress lines were recorded");

    const requested = await db()
      .selectFrom("audit_log")
      .select(["actor_id", "subject_id"])
      .where("action", "=", "backup.run_requested")
      .executeTakeFirstOrThrow();
    assert.deepEqual(requested, { actor_id: `member:${member.memberId}`, subject_id: "backup" });
    const created = await db()
      .selectFrom("audit_log")
      .select(["actor_id", "subject_id", "after"])
      .where("action", "=", "backup.created")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(created.actor_id, "system:backup");
    assert.equal((created.after as { triggeredBy: string }).triggeredBy, `member:${member.memberId}`);

    const page = await client.get(PAGE);
    assert.match(page.text, new RegExp(`data-backup="${created.subject_id}" data-drill="untrusted"`));
    assert.match(page.text, /UNTRUSTED: no drill yet/);
    assert.match(page.text, new RegExp(`id="last-good-backup">${created.subject_id}, \\d+ s old`));
    assert.match(page.text, /Last backup succeeded/);

    const drill = await client.postForm(`${PAGE}/run`, { job: "backup-drill" }, PAGE);
    assert.equal(drill.status, 303);
    const drilled = await finished("backup-drill");
    assert.equal(drilled.outcome, "ok", drilled.detail ?? "");
    const after = await client.get(PAGE);
    assert.match(after.text, new RegExp(`data-backup="${created.subject_id}" data-drill="passed"`));
    assert.match(after.text, new RegExp(`id="last-drill">passed for ${created.subject_id}`));
  });

  test("[G01] a full admin (not an operator) sees the page and takes a backup from it", async () => {
    const { client, member } = await loggedIn(t, ["member", "full_admin"]);
    assert.equal((await client.get("/admin/system")).status, 403, "the mode page stays the operators'");
    assert.match((await client.get("/admin")).text, /href="\/admin\/system\/backups"/);
    const page = await client.get(PAGE);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /href="\/admin\/system"/, "no link to a page they cannot open");
    const start = await client.postForm(`${PAGE}/run`, { job: "backup" }, PAGE);
    assert.equal(start.status, 303);
    const run = await finished("backup", `member:${member.memberId}`);
    assert.equal(run.outcome, "ok", run.detail ?? "");
  });

  test("[G01] while a backup runs the page shows its step and reloads itself, and a second one is refused", async () => {
    const { client } = await operator();
    const recorder = await recordJobRun(db(), {
      job: "backup",
      runId: "job:backup:test",
      triggeredBy: "operator:elsewhere",
    });
    try {
      recorder.note("table members: 1.2 MB so far");
      await sleep(1500);
      const page = await client.get(PAGE);
      assert.match(page.text, /<meta http-equiv="refresh" content="5"/);
      assert.match(
        page.text,
        /data-running="backup"[^>]*>A backup is running \(started [^)]* by operator:elsewhere\): table members: 1.2 MB so far/,
      );
      const before = await countRows(t, "audit_log");
      const again = await client.postForm(`${PAGE}/run`, { job: "backup" }, PAGE);
      assert.equal(again.status, 409);
      assert.match(again.text, /A backup is already running/);
      assert.equal(await countRows(t, "audit_log"), before, "the refused request wrote nothing");
    } finally {
      await recorder.finish("ok", "test over");
    }
    const bad = await client.postForm(`${PAGE}/run`, { job: "everything" }, PAGE);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Choose what to run/);
  });
});
