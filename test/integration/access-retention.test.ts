import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import { loadConfig } from "../../src/app/config.ts";
import { findJob } from "../../src/app/jobs.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

test("CLUBOS_*_RETENTION_DAYS: throttles 30, browsers 365, decided applications 180 days by default; nonsense refused", () => {
  assert.deepEqual(loadConfig({}).accessRetention, {
    throttleDays: 30,
    deviceDays: 365,
    joinApplicationDays: 180,
  });
  assert.deepEqual(
    loadConfig({
      CLUBOS_LOGIN_THROTTLE_RETENTION_DAYS: "7",
      CLUBOS_LOGIN_DEVICE_RETENTION_DAYS: "90",
      CLUBOS_JOIN_APPLICATION_RETENTION_DAYS: "30",
    }).accessRetention,
    { throttleDays: 7, deviceDays: 90, joinApplicationDays: 30 },
  );
  assert.throws(() => loadConfig({ CLUBOS_LOGIN_DEVICE_RETENTION_DAYS: "-1" }), /positive whole number/);
});

/** A throttle, a remembered browser and join applications of every state, old and new (fixture). */
async function rows(runtime: Runtime, tag: string) {
  const db = runtime.database.db;
  await db
    .insertInto("login_throttles")
    .values([
      { key: `${tag}:old`, email_key: `${tag}@example.org`, failures: 3, last_failure_at: ago(31) },
      { key: `${tag}:recent`, email_key: `${tag}@example.org`, failures: 3, last_failure_at: ago(29) },
      { key: `${tag}:settled`, email_key: `${tag}@example.org`, failures: 0, last_failure_at: null },
    ])
    .execute();
  await db
    .insertInto("login_devices")
    .values([
      {
        token_hash: `${tag}-old`,
        email_key: `${tag}@example.org`,
        created_at: ago(400),
        last_used_at: ago(366),
      },
      {
        token_hash: `${tag}-used`,
        email_key: `${tag}@example.org`,
        created_at: ago(400),
        last_used_at: ago(364),
      },
    ])
    .execute();
  await db
    .insertInto("login_attempts")
    .values([
      { email_key: `${tag}@example.org`, ip: `${tag}-old`, succeeded: true, at: ago(366) },
      { email_key: `${tag}@example.org`, ip: `${tag}-kept`, succeeded: true, at: ago(364) },
    ])
    .execute();
  const member = await runAction(runtime.actionEnv(systemActor("test")), createMemberRecord, {
    name: "Joined",
    email: `${tag}-member@example.org`,
  });
  const application = (status: string, decidedDaysAgo: number | null) => ({
    name: `${tag} ${status} ${decidedDaysAgo}`,
    email: `${tag}-${status}-${decidedDaysAgo}@example.org`,
    tier_key: "standard",
    status,
    confirm_expires_at: ago(200),
    confirmed_at: status === "unconfirmed" ? null : ago(300),
    decided_at: decidedDaysAgo === null ? null : ago(decidedDaysAgo),
    decided_by: decidedDaysAgo === null ? null : "operator:test",
    reason: status === "rejected" ? "Full" : null,
    member_id: status === "approved" ? member.id : null,
  });
  await db
    .insertInto("join_applications")
    .values([
      application("approved", 181),
      application("rejected", 181),
      application("rejected", 179),
      application("confirmed", null), // waiting for a decision for 300 days: never deleted by retention
    ])
    .execute();
}

const left = async (runtime: Runtime, tag: string) => {
  const db = runtime.database.db;
  const throttles = await db
    .selectFrom("login_throttles")
    .select("key")
    .where("key", "like", `${tag}:%`)
    .execute();
  const devices = await db
    .selectFrom("login_devices")
    .select("token_hash")
    .where("token_hash", "like", `${tag}-%`)
    .execute();
  const attempts = await db
    .selectFrom("login_attempts")
    .select("ip")
    .where("ip", "like", `${tag}-%`)
    .execute();
  const applications = await db
    .selectFrom("join_applications")
    .select("name")
    .where("name", "like", `${tag} %`)
    .execute();
  return {
    throttles: throttles.map((r) => r.key).sort(),
    devices: devices.map((r) => r.token_hash).sort(),
    attempts: attempts.map((r) => r.ip).sort(),
    applications: applications.map((r) => r.name).sort(),
  };
};

forEachEngine("access data retention", (engine) => {
  const t = suiteApp(engine);

  test("the scheduled job deletes only what is past its retention, audited as the system, and a second run writes nothing", async () => {
    const { runtime } = t.get();
    const tag = `r${randomUUID().slice(0, 8)}`;
    await rows(runtime, tag);
    const job = findJob("purge-access-data");
    assert.ok(job, "the job is in the scheduled list");
    const run = () =>
      job.run({
        ctx: runtime,
        runId: `job:purge-access-data:${randomUUID()}`,
        triggeredBy: "test",
        now: new Date(),
        signal: new AbortController().signal,
        progress: () => {},
      });
    const summary = await run();
    assert.ok(summary.changed >= 6);
    assert.deepEqual(await left(runtime, tag), {
      throttles: [`${tag}:recent`],
      devices: [`${tag}-used`],
      attempts: [`${tag}-kept`],
      applications: [`${tag} confirmed null`, `${tag} rejected 179`],
    });

    const entries = await runtime.database.db
      .selectFrom("audit_log")
      .select(["actor_type", "actor_id", "after", "seq"])
      .where("action", "=", "access_data.purged")
      .orderBy("seq", "desc")
      .execute();
    const entry = entries[0]!;
    assert.equal(entry.actor_type, "system");
    assert.equal(entry.actor_id, "system:access-retention");
    const after = entry.after as { deleted: Record<string, number>; retentionDays: Record<string, number> };
    assert.ok(
      after.deleted.throttles! >= 2 &&
        after.deleted.devices! >= 1 &&
        after.deleted.attempts! >= 1 &&
        after.deleted.joinApplications! >= 2,
    );
    assert.deepEqual(after.retentionDays, { throttleDays: 30, deviceDays: 365, joinApplicationDays: 180 });
    assert.doesNotMatch(JSON.stringify(entry.after), new RegExp(tag), "no deleted personal data in the log");

    const again = await run();
    assert.equal(again.changed, 0);
    const count = await runtime.database.db
      .selectFrom("audit_log")
      .select(sql<number>`count(*)::integer`.as("n"))
      .where("action", "=", "access_data.purged")
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), entries.length, "a run with nothing to delete writes no entry");
  });
});
