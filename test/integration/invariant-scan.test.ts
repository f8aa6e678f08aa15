import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runCli } from "../../src/app/cli.ts";
import { runInvariantChecks } from "../../src/app/invariants.ts";
import { findJob } from "../../src/app/jobs.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { readSystemState } from "../../src/core/modes.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { closeIncident, openIncident } from "../../src/domains/ops/incidents.actions.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { cliEnv, tamperCommitted, tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { loggedIn } from "../helpers/identity.ts";

const scanJob = () => {
  const job = findJob("invariant-scan");
  assert.ok(job, "the scan is a scheduled job");
  return job;
};

async function counts(runtime: Runtime) {
  const db = runtime.database.db;
  const n = async (table: "incidents" | "audit_log" | "incident_entries") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    incidents: await n("incidents"),
    audit: await n("audit_log"),
    entries: await n("incident_entries"),
  };
}

async function backToNormal(runtime: Runtime): Promise<void> {
  const env = runtime.actionEnv(operatorActor("cleanup"));
  const open = await runtime.database.db
    .selectFrom("incidents")
    .select("id")
    .where("status", "=", "open")
    .execute();
  for (const i of open) await runAction(env, closeIncident, { incidentId: i.id, review: "test over" });
  await runAction(env, setMode, { mode: "normal", reason: "test over" });
  await runtime.modes.refresh();
}

forEachEngine("scheduled invariant scans (INV-10)", (engine) => {
  const t = suiteApp(engine);
  const rt = () => t.get().runtime;

  test("[G06] a clean scheduled scan changes nothing, and closes no incident by itself", async () => {
    await runAction(rt().actionEnv(operatorActor("alice")), openIncident, {
      severity: "SEV-2",
      title: "Unrelated",
    });
    const before = await counts(rt());
    const result = await runJob(rt(), scanJob());
    assert.equal(result.outcome, "ok", result.reason);
    assert.equal(result.summary?.changed, 0);
    assert.match(result.summary?.detail ?? "", /all \d+ checks passed/);
    assert.equal((await readSystemState(rt().database.db)).mode, "normal");
    assert.deepEqual(await counts(rt()), before, "no incident, entry or audit entry");
    const open = await rt()
      .database.db.selectFrom("incidents")
      .select("id")
      .where("status", "=", "open")
      .execute();
    assert.equal(open.length, 1, "the open incident stays open");
    await backToNormal(rt());
  });

  test("[G06] a violation found on schedule stops writes (read-only, the violation as reason) and opens a SEV-1 with the rows; nothing is repaired", async () => {
    const member = await createMember(rt(), ["member"]);
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const db = rt().database.db;
    const account = await db
      .selectFrom("accounts")
      .select("id")
      .where("member_id", "=", member.memberId)
      .executeTakeFirstOrThrow();
    const ghost = "00000000-0000-4000-8000-00000000dead";
    await tamperCommitted(rt().database, (d) =>
      sql`UPDATE accounts SET member_id = ${ghost}::uuid WHERE id = ${account.id}::uuid`.execute(d.db),
    );
    try {
      // The lower-level path, on demand, only reports: it is the scheduled job that stops writes.
      const onDemand = await runInvariantChecks(rt().database, "system:test");
      assert.equal(onDemand.ok, false);
      assert.equal((await readSystemState(db)).mode, "normal", "a report alone stops nothing");

      const { env, lines } = cliEnv(rt());
      const code = await runCli(["jobs", "run", "invariant-scan", "--actor", "alice"], env);
      assert.equal(code, 0, lines.join("\n"));
      assert.match(lines.join("\n"), /VIOLATION in identity\.orphans.*read-only.*SEV-1 incident INC-\d+/s);

      const state = await readSystemState(db);
      assert.equal(state.mode, "read-only");
      assert.match(
        state.reason ?? "",
        /Invariant violation found by the scheduled scan \(identity\.orphans\)/,
      );
      assert.equal(state.changedBy, "system:invariant-scan");
      const incident = await db
        .selectFrom("incidents")
        .selectAll()
        .where("status", "=", "open")
        .executeTakeFirstOrThrow();
      assert.equal(incident.severity, "SEV-1");
      assert.equal(incident.area, "data");
      assert.match(incident.title, /identity\.orphans/);
      const entries = await db
        .selectFrom("incident_entries")
        .selectAll()
        .where("incident_id", "=", incident.id)
        .orderBy("at")
        .execute();
      assert.match(
        entries[0]?.text ?? "",
        new RegExp(`account ${account.id}: member_id points to no row of members`),
      );
      assert.deepEqual(
        entries.filter((e) => e.kind === "decision").map((e) => [e.actor, e.action]),
        [["system:invariant-scan", "mode read-only"]],
      );
      const audit = await db
        .selectFrom("audit_log")
        .select(["action", "actor_id"])
        .where("actor_id", "=", "system:invariant-scan")
        .execute();
      assert.deepEqual(audit.map((a) => a.action).sort(), ["incident.opened", "system.mode_changed"]);
      const still = await db
        .selectFrom("accounts")
        .select("member_id")
        .where("id", "=", account.id)
        .executeTakeFirstOrThrow();
      assert.equal(still.member_id, ghost, "nothing is repaired automatically");

      // Writes are refused now, and the operator page shows which rows break which rule.
      await rt().modes.refresh();
      const page = await client.get("/admin/incidents");
      assert.match(page.text, /identity\.orphans \(INV-8\)/);
      assert.match(page.text, new RegExp(`account ${account.id}`));
      assert.match(
        (await client.get("/admin")).text,
        /Critical: SEV-1 incident INC-\d+ is open: Invariant violation/,
      );

      // Back to normal by hand without a repair: the next scan notes it on the same incident.
      await runAction(rt().actionEnv(operatorActor("alice")), setMode, { mode: "normal", reason: "looking" });
      const again = await runJob(rt(), scanJob());
      assert.equal(again.outcome, "ok");
      assert.equal((await readSystemState(db)).mode, "read-only", "still violated: writes stop again");
      const open = await db.selectFrom("incidents").select("id").where("status", "=", "open").execute();
      assert.deepEqual(
        open.map((i) => i.id),
        [incident.id],
        "one incident, not one per scan",
      );
    } finally {
      await tamperCommitted(rt().database, (d) =>
        sql`UPDATE accounts SET member_id = ${member.memberId}::uuid WHERE id = ${account.id}::uuid`.execute(
          d.db,
        ),
      );
      await backToNormal(rt());
    }
  });

  test("[G06] the incident log is scanned too: a timeline entry whose incident is gone is reported", async () => {
    const incident = await runAction(rt().actionEnv(operatorActor("alice")), openIncident, {
      severity: "SEV-1",
      title: "Scanned",
      note: "first",
    });
    try {
      const report = await tampered(rt().database, async (d) => {
        await sql`UPDATE incident_entries SET incident_id = '00000000-0000-4000-8000-00000000beef' WHERE incident_id = ${incident.id}::uuid`.execute(
          d.db,
        );
        return runInvariantChecks(d, "system:test");
      });
      const check = report.checks.find((c) => c.id === "ops.incidents");
      assert.ok(check && check.violations >= 1, JSON.stringify(check));
      assert.ok(
        check.sample.some(
          (v) => v.subject_type === "incident_entry" && /belongs to no incident/.test(v.detail),
        ),
      );
    } finally {
      await backToNormal(rt());
    }
  });

  test("the scan's interval comes from CLUBOS_INVARIANT_SCAN_MINUTES, hourly by default", async () => {
    assert.equal(scanJob().intervalMs, 60 * 60_000);
    const { loadConfig, invariantScanMinutes } = await import("../../src/app/config.ts");
    assert.equal(invariantScanMinutes({ CLUBOS_INVARIANT_SCAN_MINUTES: "15" }), 15);
    assert.throws(
      () => invariantScanMinutes({ CLUBOS_INVARIANT_SCAN_MINUTES: "soon" }),
      /positive whole number/,
    );
    assert.equal(loadConfig({ CLUBOS_INVARIANT_SCAN_MINUTES: "5" }).invariantScanMinutes, 5);
  });
});
