import assert from "node:assert/strict";
import { test } from "node:test";
import { takeBackup } from "../../src/app/backup-env.ts";
import { buildServer } from "../../src/app/server.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { readJobProgress } from "../../src/core/job-progress.ts";
import { readSystemState } from "../../src/core/modes.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { seedClub } from "../helpers/backup.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { loggedIn } from "../helpers/identity.ts";

forEachEngine("the restore page (REC-1..REC-4)", (engine) => {
  const t = suiteApp(engine);

  test("[G15] a full admin restores from the page with the id typed again; another full admin signs off", async () => {
    const { runtime, config } = t.get();
    await seedClub(runtime);
    const first = await loggedIn(t, ["full_admin"]);
    const second = await loggedIn(t, ["full_admin"]);
    const editor = await loggedIn(t, ["web_editor"]);
    // Both admins exist in the backup, so they can sign in again after it (the restore ends every session).
    const made = await takeBackup(config, runtime.database, "operator:test");
    await runAction(runtime.actionEnv(systemActor("test")), createMemberRecord, {
      name: "Added After Backup",
      email: "added.after@example.org",
    });

    assert.equal(
      (await editor.client.get("/admin/restore")).status,
      403,
      "refused to those who may not restore",
    );
    const page = await first.client.get("/admin/restore");
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`Backup ${made.id}`));
    assert.match((await first.client.get("/admin")).text, /href="\/admin\/restore"/);

    const wrong = await first.client.postForm(
      "/admin/restore",
      { backupId: made.id, reason: "test", confirm: "not it" },
      "/admin/restore",
    );
    assert.equal(wrong.status, 422);
    assert.match(wrong.text, /type its id exactly/);
    assert.equal((await readSystemState(runtime.database.db)).mode, "normal", "nothing changed");

    const started = await first.client.postForm(
      "/admin/restore",
      { backupId: made.id, reason: "undo a bad import", confirm: made.id },
      "/admin/restore",
    );
    assert.equal(started.status, 303);
    for (let i = 0; i < 300; i++) {
      const [run] = await readJobProgress(runtime.database.db, ["restore"]);
      if (run?.finishedAt) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The restore ended every session, the one that started it included: both admins sign in again.
    assert.notEqual((await first.client.get("/admin/restore")).status, 200, "the old session is ended");
    for (const admin of [first, second])
      assert.equal((await admin.client.login(admin.member.email, admin.member.password)).status, 303);
    const body = (await first.client.get("/admin/restore")).text;
    const outcome = body.match(/role="alert">([^<]*)</)?.[1] ?? "";
    assert.ok(/Restored and verified/.test(body), `the page says the restore was verified (${outcome})`);
    assert.match(body, /Every session was ended \(\d+\)/, "and that everyone signs in again");
    // The progress is read from job_progress, not from the process that runs the restore: a second
    // server over the same database (with a runner of its own) shows the same restore.
    const other = await buildServer(runtime);
    try {
      const seen = await other.inject({
        method: "GET",
        url: "/admin/restore",
        headers: { cookie: `clubos_session=${first.client.cookie("clubos_session")}` },
      });
      assert.equal(seen.statusCode, 200);
      assert.match(seen.body, new RegExp(`Restored and verified backup ${made.id}`));
      assert.match(seen.body, /by member:/, "it names who started the restore");
    } finally {
      await other.close();
    }
    const [progress] = await readJobProgress(runtime.database.db, ["restore"]);
    assert.match(progress?.step ?? "", /^verification: /, "the steps were recorded as they went");
    const gone = await runtime.database.db
      .selectFrom("members")
      .select("id")
      .where("email", "=", "added.after@example.org")
      .executeTakeFirst();
    assert.equal(gone, undefined);
    assert.equal((await readSystemState(runtime.database.db)).mode, "maintenance");
    await runtime.modes.refresh();
    const publicPage = await fetch(`${t.get().baseUrl}/events`).then((r) => r.text());
    assert.match(publicPage, /under maintenance: nothing can be changed\. Reason: Restore of backup/);

    const own = await first.client.postForm(
      "/admin/restore/sign-off",
      { note: "looked", checked: "yes" },
      "/admin/restore",
    );
    assert.equal(own.status, 403);
    assert.match(own.text, /another of them must check the restored data/);
    const unticked = await second.client.postForm(
      "/admin/restore/sign-off",
      { note: "looked" },
      "/admin/restore",
    );
    assert.equal(unticked.status, 409);
    const signed = await second.client.postForm(
      "/admin/restore/sign-off",
      { note: "member list checked", checked: "yes" },
      "/admin/restore",
    );
    assert.equal(signed.status, 303);
    assert.equal((await readSystemState(runtime.database.db)).mode, "normal");
  });
});
