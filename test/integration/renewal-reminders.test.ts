import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import { loadConfig } from "../../src/app/config.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { setOwnEmailPreferences } from "../../src/domains/members/email-preferences.actions.ts";
import { clubToday } from "../../src/domains/members/lapse.job.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { changeMemberStatus, deleteMember } from "../../src/domains/members/members.actions.ts";
import { dueStep, renewalReminderJob } from "../../src/domains/members/renewal-reminders.job.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";

let serial = 0;
const plusDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** A member with a renewal date (fixture: set as an admin would). */
async function memberDue(runtime: Runtime, due: string | null) {
  serial++;
  const env = runtime.actionEnv(systemActor("test"));
  const m = await runAction(env, createMemberRecord, {
    name: `Due ${serial}`,
    email: `remind${serial}-${Date.now()}@example.org`,
  });
  await runtime.database.db
    .updateTable("members")
    .set({ renewal_due_on: due, tier_key: "standard" })
    .where("id", "=", m.id)
    .execute();
  return m.id;
}

const remindersOf = (runtime: Runtime, ids: string[]) =>
  runtime.database.db
    .selectFrom("outbox")
    .selectAll()
    .where("topic", "=", "member.renewal_reminder")
    .where(sql<string>`payload->>'memberId'`, "in", ids)
    .orderBy("created_at")
    .execute();

/** A run of the job as the scheduler would make it, without the scheduler's lock: what two servers
 * racing would do if the lock did not keep them apart. */
function bareRun(runtime: Runtime, now: Date) {
  return renewalReminderJob.run({
    ctx: runtime,
    runId: `job:renewal-reminders:${randomUUID()}`,
    triggeredBy: "test",
    now,
    signal: new AbortController().signal,
    progress: () => {},
  });
}

test("the step due is the smallest configured one not below the days left", () => {
  assert.equal(dueStep([30, 7, 0], 30), 30);
  assert.equal(dueStep([30, 7, 0], 12), 30);
  assert.equal(dueStep([30, 7, 0], 7), 7);
  assert.equal(dueStep([30, 7, 0], 5), 7, "a missed 30-day reminder is not sent late beside the 7-day one");
  assert.equal(dueStep([30, 7, 0], 0), 0);
  assert.equal(dueStep([30, 7, 0], 31), undefined);
  assert.equal(dueStep([30, 7], 0), 7);
});

test("CLUBOS_RENEWAL_REMINDER_DAYS: 30, 7 and 0 by default, any whole days largest first, empty for none, nonsense refused", () => {
  assert.deepEqual(loadConfig({}).renewalReminderDays, [30, 7, 0]);
  assert.deepEqual(loadConfig({ CLUBOS_RENEWAL_REMINDER_DAYS: "1, 14,1" }).renewalReminderDays, [14, 1]);
  assert.deepEqual(loadConfig({ CLUBOS_RENEWAL_REMINDER_DAYS: "" }).renewalReminderDays, []);
  assert.throws(
    () => loadConfig({ CLUBOS_RENEWAL_REMINDER_DAYS: "30,-7" }),
    /CLUBOS_RENEWAL_REMINDER_DAYS must be whole numbers of days/,
  );
});

forEachEngine("renewal reminders", (engine) => {
  const t = suiteApp(engine, {
    CLUBOS_CLUB_NAME: "Riverside Rowing",
    CLUBOS_PUBLIC_URL: "https://club.example.org",
  });

  test("[G13] each member due gets one reminder per step, naming the date and what to do, audited as the system; a second run sends nothing", async () => {
    const { runtime } = t.get();
    const now = new Date();
    const today = clubToday(runtime.config.timeZone, now);
    const in30 = await memberDue(runtime, plusDays(today, 30));
    const in5 = await memberDue(runtime, plusDays(today, 5));
    const dueToday = await memberDue(runtime, today);
    const in31 = await memberDue(runtime, plusDays(today, 31));
    const past = await memberDue(runtime, plusDays(today, -1));
    const lapsed = await memberDue(runtime, plusDays(today, 7));
    const deleted = await memberDue(runtime, plusDays(today, 7));
    const optedOut = await memberDue(runtime, plusDays(today, 7));
    const env = runtime.actionEnv(systemActor("test"));
    await runAction(env, changeMemberStatus, { memberId: lapsed, status: "lapsed", reason: "test" });
    await runAction(env, deleteMember, { memberId: deleted, reason: "test", timeZone: "UTC" });
    // Reminders are transactional: a member who turned announcements off still gets them.
    const self = {
      type: "member" as const,
      memberId: optedOut,
      name: "x",
      capabilities: new Set(["profile:write" as const]),
    };
    await runAction(runtime.actionEnv(self), setOwnEmailPreferences, { announcements: false });
    const all = [in30, in5, dueToday, in31, past, lapsed, deleted, optedOut];

    const first = await runJob(runtime, renewalReminderJob, { now });
    assert.equal(first.outcome, "ok", first.reason);
    assert.equal(first.summary?.changed, 4);
    const mails = await remindersOf(runtime, all);
    const byMember = new Map(mails.map((m) => [(m.payload as { memberId: string }).memberId, m]));
    assert.deepEqual([...byMember.keys()].sort(), [in30, in5, dueToday, optedOut].sort());
    assert.equal((byMember.get(in30)!.payload as { step: number }).step, 30);
    assert.equal((byMember.get(in5)!.payload as { step: number }).step, 7);
    assert.equal((byMember.get(dueToday)!.payload as { step: number }).step, 0);
    const dueDate = new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeZone: "UTC" }).format(
      new Date(`${plusDays(today, 5)}T00:00:00Z`),
    );
    const five = byMember.get(in5)!;
    assert.match(five.body!, new RegExp(`renewal on ${dueDate}, in 5 days`));
    assert.match(five.body!, /To renew, contact the club's membership secretary/);
    assert.match(five.body!, /https:\/\/club\.example\.org\/members\/me/);
    assert.match(five.body!, /Riverside Rowing/);
    assert.match(byMember.get(dueToday)!.subject!, /due for renewal today/);

    const audit = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member.renewal_reminder_sent")
      .where("subject_id", "in", all)
      .execute();
    assert.equal(audit.length, 4);
    for (const a of audit) {
      assert.equal(a.actor_type, "system");
      assert.equal(a.actor_id, "system:renewal-reminder-job");
      assert.equal(a.request_id, first.runId);
    }

    const second = await runJob(runtime, renewalReminderJob, { now });
    assert.equal(second.outcome, "ok", second.reason);
    assert.equal(second.summary?.changed, 0);
    assert.equal((await remindersOf(runtime, all)).length, 4, "a restart and a second run send nothing more");

    // A week later the 5-day member is due on the day: the next step goes out, once.
    const later = new Date(now.getTime() + 5 * 86_400_000);
    const third = await runJob(runtime, renewalReminderJob, { now: later });
    assert.equal(third.outcome, "ok", third.reason);
    const steps = (await remindersOf(runtime, [in5])).map((m) => (m.payload as { step: number }).step);
    assert.deepEqual(steps, [7, 0]);
  });

  test("[G13] two runs at the same time (two servers, no job lock) still send one reminder each", async () => {
    const { runtime } = t.get();
    const now = new Date();
    const today = clubToday(runtime.config.timeZone, now);
    const ids = await Promise.all([1, 2, 3, 4, 5].map((n) => memberDue(runtime, plusDays(today, n))));
    const [a, b] = await Promise.all([bareRun(runtime, now), bareRun(runtime, now)]);
    assert.equal(a.failed + b.failed, 0, `${a.detail} ${b.detail}`);
    assert.equal(a.changed + b.changed, 5, "together they sent each reminder once");
    assert.equal((await remindersOf(runtime, ids)).length, 5);
  });

  test("without the renewal_reminders key, a second run mails the same reminder again (the key is what keeps it once)", async () => {
    const { runtime } = t.get();
    const now = new Date();
    const today = clubToday(runtime.config.timeZone, now);
    const id = await memberDue(runtime, plusDays(today, 2));
    await bareRun(runtime, now);
    assert.equal((await remindersOf(runtime, [id])).length, 1);
    await sql`ALTER TABLE renewal_reminders DROP CONSTRAINT renewal_reminders_pkey`.execute(
      runtime.database.db,
    );
    try {
      await bareRun(runtime, now);
      assert.equal((await remindersOf(runtime, [id])).length, 2, "the guarantee falls with the key");
    } finally {
      await sql`DELETE FROM renewal_reminders`.execute(runtime.database.db);
      await sql`ALTER TABLE renewal_reminders ADD PRIMARY KEY (member_id, due_on, step)`.execute(
        runtime.database.db,
      );
    }
  });
});
