import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { loadConfig } from "../../src/app/config.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { importRetentionJob } from "../../src/domains/members/import-retention.job.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { ageImport } from "../helpers/imports.ts";

const DAY_MS = 24 * 3600_000;
let serial = 0;
const unique = (name: string) => `${name}-${++serial}-${Date.now()}@example.org`;

const age = (runtime: Runtime, importId: string, days: number, options: { alsoUpdatedAt?: boolean } = {}) =>
  ageImport(runtime, importId, days * DAY_MS, options);

const stored = (runtime: Runtime, id: string) =>
  runtime.database.db.selectFrom("member_imports").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

const purgeEntries = (runtime: Runtime) =>
  runtime.database.db
    .selectFrom("audit_log")
    .selectAll()
    .where("action", "=", "member_import.purged")
    .orderBy("seq")
    .execute();

test("CLUBOS_IMPORT_RETENTION_DAYS defaults to 30 and must be a positive whole number", () => {
  const base = { CLUBOS_DATA_DIR: "/tmp/clubos-x/data", CLUBOS_BACKUP_DIR: "/tmp/clubos-x/backups" };
  assert.equal(loadConfig(base).importRetentionDays, 30);
  assert.equal(loadConfig({ ...base, CLUBOS_IMPORT_RETENTION_DAYS: "90" }).importRetentionDays, 90);
  for (const bad of ["0", "-1", "2.5", "a month"])
    assert.throws(
      () => loadConfig({ ...base, CLUBOS_IMPORT_RETENTION_DAYS: bad }),
      /CLUBOS_IMPORT_RETENTION_DAYS must be a positive whole number/,
    );
});

forEachEngine("member import retention", (engine) => {
  const t = suiteApp(engine, { CLUBOS_IMPORT_RETENTION_DAYS: "7" });
  let browser: Client;
  const ids: Record<"applied" | "planned" | "stalled" | "fresh" | "moving", string> = {
    applied: "",
    planned: "",
    stalled: "",
    fresh: "",
    moving: "",
  };
  const emails: string[] = [];

  async function upload(name: string): Promise<{ id: string; page: string; fileHash: string }> {
    const email = unique(name);
    emails.push(email);
    const posted = await browser.postForm(
      "/admin/members/import",
      { csv: `name,email\nPerson ${name},${email}\n`, file_name: `${name}.csv` },
      "/admin/members/import",
    );
    assert.equal(posted.status, 303, posted.text);
    const page = posted.headers.get("location")!;
    const fileHash = (await browser.get(page)).text.match(/name="file_hash" value="([0-9a-f]{64})"/)?.[1];
    assert.ok(fileHash);
    return { id: page.split("/").at(-1)!, page, fileHash };
  }

  test("setup: imports of every kind, some made long ago", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const applied = await upload("applied");
    assert.equal(
      (await browser.postForm(`${applied.page}/confirm`, { file_hash: applied.fileHash }, applied.page))
        .status,
      303,
    );
    ids.applied = applied.id;
    ids.planned = (await upload("planned")).id;
    ids.stalled = (await upload("stalled")).id;
    ids.moving = (await upload("moving")).id;
    ids.fresh = (await upload("fresh")).id;
    // Two imports cut off while applying: one stopped long ago, one whose progress moved lately.
    for (const id of [ids.stalled, ids.moving])
      await runtime.database.db
        .updateTable("member_imports")
        .set({ status: "applying", applier: randomUUID() })
        .where("id", "=", id)
        .execute();
    await age(runtime, ids.applied, 8);
    await age(runtime, ids.planned, 8);
    await age(runtime, ids.stalled, 8, { alsoUpdatedAt: true });
    await age(runtime, ids.moving, 8);
    await age(runtime, ids.fresh, 6);
  });

  test("the retention job removes the row details of imports older than the retention period and keeps their summary, in one audit entry by the system actor", async () => {
    const { runtime } = t.get();
    const before = await Promise.all(Object.values(ids).map((id) => stored(runtime, id)));
    const entriesBefore = (await purgeEntries(runtime)).length;
    const run = await runJob(runtime, importRetentionJob);
    assert.equal(run.outcome, "ok", run.reason);
    assert.equal(run.summary?.changed, 3);

    const applied = await stored(runtime, ids.applied);
    assert.equal(applied.status, "applied");
    assert.ok(applied.purged_at);
    assert.deepEqual((applied.plan as { rows: unknown[] }).rows, []);
    assert.deepEqual((applied.result as { rows: unknown[] }).rows, []);
    assert.deepEqual((applied.plan as { counts: unknown }).counts, {
      create: 1,
      update: 0,
      unchanged: 0,
      reject: 0,
    });
    assert.equal((applied.result as { counts: { created: number } }).counts.created, 1);
    const old = before.find((r) => r.id === ids.applied)!;
    for (const column of ["file_name", "file_hash", "created_by", "created_at", "applied_at"] as const)
      assert.deepEqual(applied[column], old[column], `${column} is kept`);

    const planned = await stored(runtime, ids.planned);
    assert.equal(planned.status, "expired", "a dry run never confirmed in time expires");
    assert.equal(planned.file_name, "planned.csv");
    const stalled = await stored(runtime, ids.stalled);
    assert.equal(stalled.status, "expired", "an import cut off long ago expires too");

    for (const row of [applied, planned, stalled]) {
      const text = JSON.stringify(row);
      for (const email of emails) assert.ok(!text.includes(email), `no email is left in ${row.id}`);
      assert.ok(!/Person /.test(text), `no name is left in ${row.id}`);
    }
    for (const id of [ids.fresh, ids.moving]) {
      const kept = await stored(runtime, id);
      assert.equal(kept.purged_at, null, "a recent import, or one still moving, keeps its details");
      assert.equal((kept.plan as { rows: unknown[] }).rows.length, 1);
    }

    const entries = await purgeEntries(runtime);
    assert.equal(entries.length, entriesBefore + 1, "one audit entry for the run");
    const entry = entries.at(-1)!;
    assert.equal(entry.actor_type, "system");
    assert.equal(entry.actor_id, "system:import-retention");
    assert.equal(entry.request_id, run.runId);
    const after = entry.after as { purged: number; retentionDays: number; importIds: string[] };
    assert.equal(after.purged, 3);
    assert.equal(after.retentionDays, 7);
    assert.deepEqual([...after.importIds].sort(), [ids.applied, ids.planned, ids.stalled].sort());
  });

  test("a second run changes nothing and writes no audit entry (idempotent)", async () => {
    const { runtime } = t.get();
    const before = await Promise.all(Object.values(ids).map((id) => stored(runtime, id)));
    const entries = (await purgeEntries(runtime)).length;
    const run = await runJob(runtime, importRetentionJob);
    assert.equal(run.outcome, "ok");
    assert.equal(run.summary?.changed, 0);
    assert.deepEqual(await Promise.all(Object.values(ids).map((id) => stored(runtime, id))), before);
    assert.equal((await purgeEntries(runtime)).length, entries);
  });

  test("a dry run past retention cannot be confirmed: the answer says to upload the file again", async () => {
    const { runtime } = t.get();
    const { file_hash } = await stored(runtime, ids.planned);
    const page = `/admin/members/import/${ids.planned}`;
    const shown = await browser.get(page);
    assert.match(shown.text, /Import expired/);
    assert.match(shown.text, /were removed after 7 days/);
    assert.match(shown.text, /upload the file again/);
    assert.doesNotMatch(shown.text, /\/confirm"/, "no Confirm button");
    const refused = await browser.postForm(`${page}/confirm`, { file_hash }, page);
    assert.equal(refused.status, 409);
    assert.match(refused.text, /details were removed[^<]*Upload the file again/);
    assert.equal((await stored(runtime, ids.planned)).status, "expired");
  });

  test("the import pages say when details are removed, and that they were", async () => {
    const applied = await browser.get(`/admin/members/import/${ids.applied}`);
    assert.match(applied.text, /Import applied/);
    assert.match(applied.text, /Done: 1 created/, "the summary stays");
    assert.match(applied.text, /were removed after 7 days/);
    assert.doesNotMatch(applied.text, /data-result=/, "no rows are shown");
    const fresh = await browser.get(`/admin/members/import/${ids.fresh}`);
    assert.match(fresh.text, /kept for 7 days after the upload, then\s+removed/);
    assert.match(fresh.text, /data-outcome="create"/);
  });

  test("while the mode is not normal the job is deferred, not run", async () => {
    const { runtime } = t.get();
    await age(runtime, ids.fresh, 9);
    const env = runtime.actionEnv(operatorActor("test"));
    await runAction(env, setMode, { mode: "read-only", reason: "retention drill" });
    try {
      assert.equal((await runJob(runtime, importRetentionJob)).outcome, "deferred");
      assert.equal((await stored(runtime, ids.fresh)).purged_at, null);
    } finally {
      await runAction(env, setMode, { mode: "normal", reason: "drill over" });
    }
    assert.equal(
      (await runJob(runtime, importRetentionJob)).summary?.changed,
      1,
      "it runs once normal again",
    );
  });
});
