import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor, systemActor } from "../../src/core/actor.ts";
import { connectPostgres } from "../../src/core/db/connect.ts";
import {
  JOB_MODES,
  type Job,
  type JobContext,
  jobRunCounter,
  runJob,
  Scheduler,
} from "../../src/core/scheduler.ts";
import { clubToday, lapseJob } from "../../src/domains/members/lapse.job.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { changeMemberStatus, deleteMember } from "../../src/domains/members/members.actions.ts";
import { setMode, setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

let serial = 0;

/** YYYY-MM-DD plus n days. */
const plusDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** A member record with a renewal date and tier, set as an admin would (fixture, not the subject). */
async function memberDue(runtime: Runtime, due: string | null, tier: string | null = "standard") {
  serial++;
  const env = runtime.actionEnv(systemActor("test"));
  const m = await runAction(env, createMemberRecord, {
    name: `Due ${serial}`,
    email: `due${serial}-${Date.now()}@example.org`,
  });
  await runtime.database.db
    .updateTable("members")
    .set({ renewal_due_on: due, tier_key: tier })
    .where("id", "=", m.id)
    .execute();
  return m.id;
}

const statusOf = async (runtime: Runtime, id: string) =>
  (
    await runtime.database.db
      .selectFrom("members")
      .select(["status", "version"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow()
  ).status;

const lapsesOf = (runtime: Runtime, ids: string[]) =>
  Promise.all([
    runtime.database.db
      .selectFrom("member_status_history")
      .selectAll()
      .where("member_id", "in", ids)
      .where("to_status", "=", "lapsed")
      .execute(),
    runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member.status_changed")
      .where("subject_id", "in", ids)
      .execute(),
  ]);

const counted = async (job: string, outcome: string) =>
  (await jobRunCounter.get()).values.find((v) => v.labels.job === job && v.labels.outcome === outcome)
    ?.value ?? 0;

async function normal(runtime: Runtime) {
  const env = runtime.actionEnv(operatorActor("cleanup"));
  await runAction(env, setMode, { mode: "normal", reason: "test over" });
  await runAction(env, setSwitch, { name: "admin_freeze", on: false, reason: "test over" });
  await runtime.modes.refresh();
}

async function until(check: () => Promise<boolean>, what: string, ms = 8000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

forEachEngine("membership lapse job and renewal", (engine) => {
  const t = suiteApp(engine);
  afterEach(() => normal(t.get().runtime));

  test("[G13] the lapse job lapses exactly the active members past their due date, each with one history row and one audit entry by system:lapse-job; a second run changes nothing", async () => {
    const { runtime } = t.get();
    const now = new Date();
    const today = clubToday(runtime.config.timeZone, now);
    const pastA = await memberDue(runtime, plusDays(today, -1));
    const pastB = await memberDue(runtime, plusDays(today, -400));
    const dueToday = await memberDue(runtime, today);
    const future = await memberDue(runtime, plusDays(today, 1));
    const noDate = await memberDue(runtime, null);
    const suspended = await memberDue(runtime, plusDays(today, -5));
    const deleted = await memberDue(runtime, plusDays(today, -5));
    const env = runtime.actionEnv(systemActor("test"));
    await runAction(env, changeMemberStatus, { memberId: suspended, status: "suspended", reason: "test" });
    await runAction(env, deleteMember, { memberId: deleted, reason: "test", timeZone: "UTC" });

    const first = await runJob(runtime, lapseJob, { now });
    assert.equal(first.outcome, "ok", first.reason);
    assert.equal(first.summary?.changed, 2, "only the two past-due active members");
    assert.equal(await statusOf(runtime, pastA), "lapsed");
    assert.equal(await statusOf(runtime, pastB), "lapsed");
    assert.equal(await statusOf(runtime, dueToday), "active", "due today is not yet past due");
    assert.equal(await statusOf(runtime, future), "active");
    assert.equal(await statusOf(runtime, noDate), "active");
    assert.equal(await statusOf(runtime, suspended), "suspended");
    assert.equal(await statusOf(runtime, deleted), "active", "a deleted member is left alone");

    const all = [pastA, pastB, dueToday, future, noDate, suspended, deleted];
    const [history, audit] = await lapsesOf(runtime, all);
    assert.deepEqual(history.map((h) => h.member_id).sort(), [pastA, pastB].sort());
    for (const h of history) {
      assert.equal(h.from_status, "active");
      assert.equal(h.changed_by, "system:lapse-job");
      assert.match(h.reason, /Renewal was due on \d{4}-\d{2}-\d{2}/);
    }
    const lapseAudit = audit.filter((a) => (a.after as { status: string }).status === "lapsed");
    assert.deepEqual(lapseAudit.map((a) => a.subject_id).sort(), [pastA, pastB].sort());
    for (const a of lapseAudit) {
      assert.equal(a.actor_id, "system:lapse-job");
      assert.equal(a.actor_type, "system");
      assert.deepEqual(a.before, { status: "active" });
      assert.equal(a.request_id, first.runId, "the run's entries share its run id");
    }

    const second = await runJob(runtime, lapseJob, { now });
    assert.equal(second.outcome, "ok");
    assert.equal(second.summary?.changed, 0);
    const [history2, audit2] = await lapsesOf(runtime, all);
    assert.equal(history2.length, history.length);
    assert.equal(audit2.length, audit.length);
  });

  test("'past due' is counted in the club's time zone, not the server's", async () => {
    const { runtime } = t.get();
    const utcDay = new Date().toISOString().slice(0, 10);
    const now = new Date(`${utcDay}T11:00:00Z`); // already the next day in Kiritimati (UTC+14)
    const member = await memberDue(runtime, utcDay);
    await runJob({ ...runtime, config: { timeZone: "UTC" } }, lapseJob, { now });
    assert.equal(await statusOf(runtime, member), "active", "in UTC it is due today");
    await runJob({ ...runtime, config: { timeZone: "Pacific/Kiritimati" } }, lapseJob, { now });
    assert.equal(await statusOf(runtime, member), "lapsed", "in the club's zone its due day has passed");
  });

  test("[G10] in read-only mode the job is deferred (counted, nothing written) and the scheduler runs it once the mode is normal again", async () => {
    const { runtime } = t.get();
    const member = await memberDue(runtime, "2001-01-01");
    const ops = runtime.actionEnv(operatorActor("alice"));
    await runAction(ops, setMode, { mode: "read-only", reason: "disk check" });
    const deferredBefore = await counted("lapse-members", "deferred");
    const byHand = await runJob(runtime, lapseJob);
    assert.equal(byHand.outcome, "deferred");
    // A job that writes nothing through actions is not even started while the mode is not normal.
    let started = 0;
    const probe: Job = {
      name: "test-probe",
      description: "counts starts",
      intervalMs: 1000,
      modes: JOB_MODES.normal,
      run: async () => ({ changed: ++started, failed: 0 }),
    };
    assert.equal((await runJob(runtime, probe)).outcome, "deferred");
    assert.equal(started, 0, "the job body never ran");
    assert.match(byHand.reason ?? "", /read-only/);
    assert.equal(await statusOf(runtime, member), "active");

    const scheduler = new Scheduler(runtime, [lapseJob], { tickMs: 40, firstTickMs: 0 });
    scheduler.start();
    try {
      await until(
        async () => (await counted("lapse-members", "deferred")) >= deferredBefore + 3,
        "deferred ticks",
      );
      assert.equal(await statusOf(runtime, member), "active", "nothing ran while read-only");
      await runAction(ops, setMode, { mode: "normal", reason: "disk fine" });
      await until(async () => (await statusOf(runtime, member)) === "lapsed", "the deferred run");
    } finally {
      await scheduler.stop();
    }
  });

  test("a failing job is logged and counted and never stops the scheduler or the other jobs", async () => {
    const { runtime } = t.get();
    const errors: object[] = [];
    let okRuns = 0;
    const broken: Job = {
      name: "test-broken",
      description: "always throws",
      intervalMs: 10,
      modes: JOB_MODES.normal,
      run: async () => {
        throw new Error("boom");
      },
    };
    const fine: Job = {
      name: "test-fine",
      description: "counts",
      intervalMs: 10,
      modes: JOB_MODES.normal,
      run: async () => ({ changed: ++okRuns, failed: 0 }),
    };
    const failedBefore = await counted("test-broken", "failed");
    const scheduler = new Scheduler(runtime, [broken, fine], {
      tickMs: 20,
      firstTickMs: 0,
      logger: { info: () => {}, error: (obj) => errors.push(obj) },
    });
    scheduler.start();
    try {
      await until(async () => okRuns >= 2, "the healthy job to keep running");
    } finally {
      await scheduler.stop();
    }
    assert.ok((await counted("test-broken", "failed")) > failedBefore);
    assert.ok(errors.some((e) => (e as { job?: string; reason?: string }).reason === "boom"));
  });

  test("[G02] two schedulers racing (two servers on one database) lapse each member exactly once", async () => {
    const { runtime, testDb } = t.get();
    const ids = await Promise.all(Array.from({ length: 12 }, () => memberDue(runtime, "2002-02-02")));
    // On PostgreSQL each "server" has its own connection pool; PGlite serves one process only.
    const servers = engine === "postgres" ? [connectPostgres(testDb.url!), connectPostgres(testDb.url!)] : [];
    const contexts: JobContext[] =
      engine === "postgres"
        ? servers.map((database) => ({
            database,
            config: runtime.config,
            actionEnv: (actor, requestId) => ({ database, actor, requestId }),
          }))
        : [runtime, runtime];
    try {
      const results = await Promise.all(contexts.map((ctx) => runJob(ctx, lapseJob)));
      assert.ok(results.every((r) => r.outcome === "ok" || r.outcome === "busy"));
      assert.equal(
        results.reduce((n, r) => n + (r.summary?.changed ?? 0), 0),
        ids.length,
      );
      const [history, audit] = await lapsesOf(runtime, ids);
      assert.equal(history.length, ids.length, "one history row per member");
      assert.equal(new Set(history.map((h) => h.member_id)).size, ids.length);
      assert.equal(
        audit.filter((a) => (a.after as { status: string }).status === "lapsed").length,
        ids.length,
      );
    } finally {
      for (const s of servers) await s.close();
    }
  });

  test("[G02] while one server runs a job, another is refused with 'busy' (the advisory lock), and may run it after", {
    timeout: 30_000,
  }, async () => {
    const { runtime, testDb } = t.get();
    const other = engine === "postgres" ? connectPostgres(testDb.url!) : undefined;
    const ctxB: JobContext = other
      ? { database: other, config: runtime.config, actionEnv: (actor) => ({ database: other, actor }) }
      : runtime;
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const job: Job = {
      name: "test-gated",
      description: "waits for the test",
      intervalMs: 1000,
      modes: JOB_MODES.normal,
      run: async () => {
        entered();
        await gate;
        return { changed: 0, failed: 0 };
      },
    };
    try {
      const first = runJob(runtime, job);
      await inside;
      // Without the lock the second run would enter the job and wait on the gate too.
      const second = await Promise.race([
        runJob(ctxB, job),
        new Promise<{ outcome: string }>((r) => setTimeout(() => r({ outcome: "ran alongside" }), 5000)),
      ]);
      assert.equal(second.outcome, "busy");
      release();
      assert.equal((await first).outcome, "ok");
      assert.equal((await runJob(ctxB, job)).outcome, "ok", "the lock is released after the run");
    } finally {
      release();
      await other?.close();
    }
  });

  test("`clubos jobs run` runs a job by hand with progress, naming the operator; unknown jobs and a missing --actor are refused", async () => {
    const { runtime, config } = t.get();
    const member = await memberDue(runtime, "2003-03-03");
    const lines: string[] = [];
    const progress: string[] = [];
    const env: CliEnv = {
      io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: (s) => progress.push(s) },
      config,
      withRuntime: (fn) => fn(runtime),
    };
    assert.equal(
      await runCli(["jobs", "run", "lapse-members", "--actor", "alice"], env),
      0,
      lines.join("\n"),
    );
    assert.match(lines.join("\n"), /lapse-members ok: 1 changed, 0 failed/);
    assert.ok(progress.some((p) => /lapse-members: checked 1 of 1/.test(p)));
    assert.equal(await statusOf(runtime, member), "lapsed");
    const [history] = await lapsesOf(runtime, [member]);
    assert.match(history[0]!.reason, /operator:alice/);
    assert.notEqual(await runCli(["jobs", "run", "nope", "--actor", "alice"], env), 0);
    assert.match(lines.join("\n"), /There is no job "nope"/);
    assert.notEqual(await runCli(["jobs", "run", "lapse-members"], env), 0);
  });

  test("renewal extends the due date by the tier's months and reactivates a lapsed member, audited; refused in read-only mode and under the admin freeze", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    const today = clubToday(runtime.config.timeZone);
    const lapsed = await memberDue(runtime, "2004-04-04");
    await runJob(runtime, lapseJob);
    assert.equal(await statusOf(runtime, lapsed), "lapsed");

    const renewed = await apiPost(baseUrl, admin.token, `/api/v1/members/${lapsed}/renew`, {});
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal(renewed.body.status, "active");
    const yearOn = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`;
    if (!today.endsWith("02-29"))
      assert.equal(renewed.body.renewalDueOn, yearOn, "a past due date counts from today");
    const history = await runtime.database.db
      .selectFrom("member_status_history")
      .selectAll()
      .where("member_id", "=", lapsed)
      .orderBy("changed_at")
      .execute();
    assert.deepEqual(history.at(-1) && [history.at(-1)!.from_status, history.at(-1)!.to_status], [
      "lapsed",
      "active",
    ]);
    assert.equal(history.at(-1)!.changed_by, `member:${admin.memberId}`);
    const entry = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member.renewed")
      .where("subject_id", "=", lapsed)
      .executeTakeFirstOrThrow();
    assert.equal(entry.actor_id, `member:${admin.memberId}`);
    assert.deepEqual(entry.before, { status: "lapsed", renewal_due_on: "2004-04-04" });

    // A future due date moves on from itself; month ends clamp (29 Feb + 12 months = 28 Feb).
    const ahead = await memberDue(runtime, "2096-02-29", "family");
    const moved = await apiPost(baseUrl, admin.token, `/api/v1/members/${ahead}/renew`, {});
    assert.equal(moved.body.renewalDueOn, "2097-02-28");
    const honorary = await memberDue(runtime, "2090-01-15", "honorary");
    assert.equal(
      (await apiPost(baseUrl, admin.token, `/api/v1/members/${honorary}/renew`, {})).body.renewalDueOn,
      "2100-01-15",
    );
    const noTier = await memberDue(runtime, "2090-01-15", null);
    assert.equal((await apiPost(baseUrl, admin.token, `/api/v1/members/${noTier}/renew`, {})).status, 400);

    const ops = runtime.actionEnv(operatorActor("alice"));
    await runAction(ops, setSwitch, { name: "admin_freeze", on: true, reason: "investigating" });
    const frozen = await apiPost(baseUrl, admin.token, `/api/v1/members/${ahead}/renew`, {});
    assert.equal(frozen.status, 503);
    assert.equal((frozen.body.error as { code: string }).code, "frozen");
    await runAction(ops, setSwitch, { name: "admin_freeze", on: false, reason: "done" });
    await runAction(ops, setMode, { mode: "read-only", reason: "disk check" });
    const readOnly = await apiPost(baseUrl, admin.token, `/api/v1/members/${ahead}/renew`, {});
    assert.equal(readOnly.status, 503);
    assert.equal((readOnly.body.error as { code: string }).code, "read_only");
    const after = await runtime.database.db
      .selectFrom("members")
      .select(sql`renewal_due_on::text`.as("due"))
      .where("id", "=", ahead)
      .executeTakeFirstOrThrow();
    assert.equal(after.due, "2097-02-28", "refused renewals changed nothing");
  });

  test("an admin renews from the member page (POST /admin/members/:id/renew, once per form)", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const member = await memberDue(runtime, "2095-06-30");
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const page = await browser.get(`/admin/members/${member}`);
    const form = page.text.match(/action="\/admin\/members\/[^"]+\/renew">([\s\S]*?)<\/form>/)?.[1] ?? "";
    const field = (name: string) => form.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1] ?? "";
    const fields = {
      _csrf: field("_csrf"),
      _form: field("_form"),
      version: field("version"),
      reason: "paid",
    };
    assert.ok(fields._form && fields.version, "the page carries a renew form");
    const first = await browser.request("POST", `/admin/members/${member}/renew`, { form: fields });
    assert.equal(first.status, 303);
    const again = await browser.request("POST", `/admin/members/${member}/renew`, { form: fields });
    assert.equal(again.status, 303, "a double submit replays");
    const row = await runtime.database.db
      .selectFrom("members")
      .select(sql`renewal_due_on::text`.as("due"))
      .where("id", "=", member)
      .executeTakeFirstOrThrow();
    assert.equal(row.due, "2096-06-30", "renewed once, not twice");
  });
});
