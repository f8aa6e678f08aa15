import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { sql } from "kysely";
import { findJob } from "../../src/app/jobs.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { findPage } from "../../src/domains/pages/pages.repository.ts";
import {
  cancelScheduledPublish,
  schedulePublish,
} from "../../src/domains/pages/scheduled-publish.actions.ts";
import { scheduledPublishJob } from "../../src/domains/pages/scheduled-publish.job.ts";
import { localInputValue } from "../../src/http/local-time.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn } from "../helpers/identity.ts";
import { act, editor, makePage, publisher, uniqueSlug, versionOf } from "../helpers/pages.ts";

const HOUR = 60 * 60_000;

forEachEngine("scheduled publishing", (engine) => {
  const t = suiteApp(engine);
  const database = () => t.get().runtime.database;
  const freeze = async (on: boolean) => {
    await runAction(t.get().runtime.actionEnv(operatorActor("test")), setSwitch, {
      name: "publish_freeze",
      on,
      reason: "test",
    });
    await t.get().runtime.modes.refresh();
  };
  afterEach(() => freeze(false));

  const draftPage = async () => {
    const marker = `SCHEDULED${uniqueSlug("m").replace(/-/g, "")}`;
    const page = await makePage(database(), {
      publish: false,
      blocks: [{ type: "text", data: { markdown: marker } }],
    });
    return { page, marker };
  };
  const schedule = async (pageId: string, publishAt: Date) =>
    act(database(), publisher(), schedulePublish, {
      pageId,
      version: await versionOf(database(), pageId),
      publishAt,
    });
  const run = (now: Date) => runJob(t.get().runtime, scheduledPublishJob, { now });
  const status = async (pageId: string) => (await findPage(database().db, pageId))!.status;
  const scheduleRow = async (id: string) =>
    database()
      .db.selectFrom("page_scheduled_publishes")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();

  test("[G05] the job is listed; a schedule made on the editor page is shown on the page list and runs once at its time, not before", async () => {
    assert.equal(findJob("scheduled-publish"), scheduledPublishJob);
    const { page, marker } = await draftPage();
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const at = new Date(Date.now() + HOUR);
    const form = {
      version: String(await versionOf(database(), page.id)),
      publishAt: localInputValue(at, t.get().runtime.config.timeZone),
    };
    const res = await client.postForm(`/admin/pages/${page.id}/schedule`, form, `/admin/pages/${page.id}`);
    assert.equal(res.status, 303, res.text);
    const list = await client.get("/admin/pages");
    assert.match(list.text, /to be published/);
    const pending = await database()
      .db.selectFrom("page_scheduled_publishes")
      .selectAll()
      .where("page_id", "=", page.id)
      .executeTakeFirstOrThrow();
    assert.equal(pending.status, "pending");

    const early = await run(new Date(new Date(pending.publish_at).getTime() - 1000));
    assert.equal(early.outcome, "ok");
    assert.equal(await status(page.id), "draft", "not before its time");
    const anonymous = new Client(t.get().baseUrl);
    assert.equal((await anonymous.get(`/p/${page.slug}`)).status, 404);

    const due = await run(new Date(new Date(pending.publish_at).getTime() + 1000));
    assert.equal(due.outcome, "ok", due.reason);
    assert.equal(await status(page.id), "published");
    assert.ok((await anonymous.get(`/p/${page.slug}`)).text.includes(marker));
    assert.equal((await scheduleRow(pending.id)).status, "done");
    const entries = await sql<{
      actor_id: string;
      n: string;
    }>`SELECT actor_id, count(*) OVER () AS n FROM audit_log
      WHERE action = 'page.published' AND subject_id = ${page.id}`.execute(database().db);
    assert.equal(entries.rows.length, 1, "published once");
    assert.equal(entries.rows[0]!.actor_id, "system:scheduled-publish", "as an audited system action");

    const again = await run(new Date(new Date(pending.publish_at).getTime() + HOUR));
    assert.equal(again.summary?.changed, 0, "a second run changes nothing");
    const revisions = await database()
      .db.selectFrom("page_revisions")
      .select("id")
      .where("page_id", "=", page.id)
      .execute();
    assert.equal(revisions.length, 1);
  });

  test("[G05] the publish freeze refuses scheduling and the scheduled publish itself", async () => {
    const { page, marker } = await draftPage();
    const { schedule: s } = await schedule(page.id, new Date(Date.now() + HOUR));
    await freeze(true);
    const other = await draftPage();
    await assert.rejects(schedule(other.page.id, new Date(Date.now() + HOUR)), { code: "frozen" });
    const result = await run(new Date(Date.now() + 2 * HOUR));
    assert.equal(await status(page.id), "draft", "not published under the freeze");
    assert.equal(result.summary?.changed, 0);
    const row = await scheduleRow(s.id);
    assert.equal(row.status, "failed");
    assert.match(row.note, /frozen/i);
    await freeze(false);
    await run(new Date(Date.now() + 3 * HOUR));
    assert.equal(await status(page.id), "draft", "nothing goes up by surprise once the freeze is lifted");
    assert.ok(!(await new Client(t.get().baseUrl).get(`/p/${page.slug}`)).text.includes(marker));
  });

  test("[G05] a cancelled schedule never publishes; cancel needs pages:publish; a past time is refused", async () => {
    const { page } = await draftPage();
    await assert.rejects(schedule(page.id, new Date(Date.now() - 1000)), { code: "schedule_invalid" });
    const { schedule: s } = await schedule(page.id, new Date(Date.now() + HOUR));
    await assert.rejects(schedule(page.id, new Date(Date.now() + 2 * HOUR)), { code: "schedule_invalid" });
    await assert.rejects(act(database(), editor(), cancelScheduledPublish, { pageId: page.id }), {
      code: "forbidden",
    });
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const editorPage = await client.get(`/admin/pages/${page.id}`);
    assert.match(editorPage.text, /Cancel the scheduled publish/);
    const res = await client.postForm(
      `/admin/pages/${page.id}/schedule/cancel`,
      { version: "1" },
      `/admin/pages/${page.id}`,
    );
    assert.equal(res.status, 303, res.text);
    assert.equal((await scheduleRow(s.id)).status, "cancelled");
    await run(new Date(Date.now() + 2 * HOUR));
    assert.equal(await status(page.id), "draft");
  });
});
