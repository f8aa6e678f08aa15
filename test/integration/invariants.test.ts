import assert from "node:assert/strict";
import { before, test } from "node:test";
import { sql } from "kysely";
import { runCli } from "../../src/app/cli.ts";
import { allInvariantChecks, runInvariantChecks } from "../../src/app/invariants.ts";
import { sqlState } from "../../src/core/errors.ts";
import type { InvariantReport, Violation } from "../../src/core/invariants.ts";
import { suiteApp } from "../helpers/app.ts";
import { cliEnv, tamperCommitted, tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { type ScannedRows, seedScannedRows } from "../helpers/invariants.ts";

/** The subjects one check reported, as "type id". */
const reported = (report: InvariantReport, id: string) => {
  const check = report.checks.find((c) => c.id === id);
  assert.ok(check, `the report has ${id}`);
  assert.equal(check.error, undefined);
  return check.sample.map((v) => `${v.subject_type} ${v.subject_id}`);
};

forEachEngine("invariant scanner", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database;
  let seed = {} as ScannedRows;
  before(async () => {
    seed = await seedScannedRows(t.get());
  });

  test("a clean database passes every check", async () => {
    const report = await runInvariantChecks(db(), "system:test");
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.violations, c.error]),
      allInvariantChecks().map((c) => [c.id, 0, undefined]),
    );
    assert.equal(report.ok, true);
  });

  const orphanCases: Array<[string, (s: typeof seed) => string, (s: typeof seed) => string[]]> = [
    [
      "a member deleted behind the foreign keys orphans its account, role assignments and API token",
      (s) => `DELETE FROM members WHERE id = '${s.memberId}'`,
      (s) => [
        `account ${s.accountId}`,
        `role_assignment ${s.activeId}`,
        `role_assignment ${s.endedId}`,
        `api_token ${s.tokenId}`,
      ],
    ],
    [
      "a deleted account orphans its session",
      (s) => `DELETE FROM accounts WHERE id = '${s.accountId}'`,
      (s) => [`session ${s.sessionId}`],
    ],
    [
      "a deleted role orphans its assignments",
      () => `DELETE FROM roles WHERE key = 'events_chair'`,
      (s) => [`role_assignment ${s.endedId}`],
    ],
    [
      "a deleted audit entry orphans its outbox message and its seal",
      (s) => `DELETE FROM audit_log WHERE seq = ${s.outboxSeq}`,
      (s) => [`outbox ${s.outboxId}`, `audit_chain ${s.outboxSeq}`],
    ],
  ];
  for (const [title, statement, expected] of orphanCases) {
    test(`[G06] orphans: ${title}`, async () => {
      const report = await tampered(db(), async (d) => {
        await sql.raw(statement(seed)).execute(d.db);
        return runInvariantChecks(d, "system:test");
      });
      assert.equal(report.ok, false);
      const subjects = reported(report, "identity.orphans");
      for (const subject of expected(seed))
        assert.ok(subjects.includes(subject), `${subject} in ${subjects}`);
    });
  }

  const timestampCases: Array<[string, string, string, (s: typeof seed) => string]> = [
    ["members", "member", "id", (s) => s.memberId],
    ["accounts", "account", "id", (s) => s.accountId],
    ["api_tokens", "api_token", "id", (s) => s.tokenId],
    ["roles", "role", "key", () => "member"],
    ["role_assignments", "role_assignment", "id", (s) => s.activeId],
    ["outbox", "outbox", "id", (s) => s.outboxId],
    ["system_state", "system_state", "id", () => "1"],
    ["sessions", "session", "id", (s) => s.sessionId],
  ];
  for (const [table, subjectType, key, id] of timestampCases) {
    test(`[G07] timestamps: a row of ${table} created after it was last updated is reported`, async () => {
      const later = table === "sessions" ? "last_seen_at" : "updated_at";
      const report = await tampered(db(), async (d) => {
        // The CHECK (created_at <= ...) refuses this state even with triggers off, so drop it first.
        const { rows } = await sql<{ name: string }>`SELECT conname AS name FROM pg_constraint
          WHERE conrelid = ${table}::regclass AND contype = 'c'
            AND pg_get_constraintdef(oid) LIKE ${`%created_at <= ${later}%`}`.execute(d.db);
        assert.equal(rows.length, 1, `${table} has its timestamps CHECK`);
        await sql`ALTER TABLE ${sql.table(table)} DROP CONSTRAINT ${sql.ref(rows[0]!.name)}`.execute(d.db);
        await sql`UPDATE ${sql.table(table)} SET created_at = ${sql.ref(later)} + interval '1 day'
          WHERE ${sql.ref(key)}::text = ${id(seed)}`.execute(d.db);
        return runInvariantChecks(d, "system:test");
      });
      assert.equal(report.ok, false);
      assert.deepEqual(reported(report, "identity.timestamps"), [`${subjectType} ${id(seed)}`]);
    });
  }

  test("[G04] audit coverage: a role assignment written without its role.granted entry is reported", async () => {
    const report = await tampered(db(), async (d) => {
      const grant = (role: string, by: string) =>
        d.db
          .insertInto("role_assignments")
          .values({ member_id: seed.adminId, role_key: role, granted_by: by })
          .returning("id")
          .executeTakeFirstOrThrow();
      // A bootstrapped administrator's admin.bootstrapped entry covers only that full_admin grant.
      const byStranger = await grant("full_admin", "operator:mallory");
      const otherRole = await grant("operator", "operator:test-admin");
      return { report: await runInvariantChecks(d, "system:test"), ids: [byStranger.id, otherRole.id] };
    });
    assert.equal(report.report.ok, false);
    assert.deepEqual(
      reported(report.report, "identity.role_grants_audited").sort(),
      report.ids.map((id) => `role_assignment ${id}`).sort(),
    );
  });

  test("[G04] audit coverage: a role assignment ended without its role.ended entry is reported", async () => {
    const report = await tampered(db(), async (d) => {
      await sql`UPDATE role_assignments SET ends_at = now(), ended_by = 'operator:mallory'
        WHERE id = ${seed.activeId}`.execute(d.db);
      return runInvariantChecks(d, "system:test");
    });
    assert.deepEqual(reported(report, "identity.role_ends_audited"), [`role_assignment ${seed.activeId}`]);
  });

  const chainCases: Array<[string, (s: typeof seed) => string[], (s: typeof seed) => string]> = [
    [
      "a sealed entry edited",
      (s) => [`UPDATE audit_log SET reason = 'forged' WHERE seq = ${s.firstSeq}`],
      (s) => `audit_log ${s.firstSeq}`,
    ],
    [
      "an entry inserted below the sealed head",
      () => [
        `INSERT INTO audit_log (seq, actor_type, actor_id, action, subject_type, subject_id)
         VALUES (0, 'operator', 'operator:mallory', 'role.granted', 'role_assignment', 'forged')`,
      ],
      () => "audit_log 0",
    ],
    [
      "an entry removed with its seal",
      (s) => [
        `DELETE FROM audit_chain WHERE seq = ${s.firstSeq}`,
        `DELETE FROM audit_log WHERE seq = ${s.firstSeq}`,
      ],
      (s) => `audit_chain ${s.secondSeq}`,
    ],
  ];
  for (const [title, statements, expected] of chainCases) {
    test(`[G04] audit chain: ${title} is reported`, async () => {
      const report = await tampered(db(), async (d) => {
        for (const statement of statements(seed)) await sql.raw(statement).execute(d.db);
        return runInvariantChecks(d, "system:test");
      });
      assert.deepEqual(reported(report, "ops.audit_chain"), [expected(seed)]);
    });
  }

  test("a missing system_state row is reported", async () => {
    const report = await tampered(db(), async (d) => {
      await sql`DELETE FROM system_state`.execute(d.db);
      return runInvariantChecks(d, "system:test");
    });
    assert.deepEqual(reported(report, "ops.system_state"), ["system_state system_state"]);
  });

  test("a check that cannot run fails the run instead of passing it", async () => {
    const broken = { id: "test.broken", rule: "INV-10", description: "queries a table that is not there" };
    const report = await runInvariantChecks(db(), "system:test", {
      checks: [{ ...broken, sql: sql<Violation>`SELECT * FROM no_such_table` }],
    });
    assert.equal(report.ok, false);
    assert.match(report.checks[0]?.error ?? "", /no_such_table/);
    const run = await db()
      .db.selectFrom("invariant_runs")
      .selectAll()
      .where("id", "=", report.runId)
      .executeTakeFirstOrThrow();
    assert.equal(run.ok, false);
  });

  test("[G06] `clubos invariants check` exits 1 on a violation, records the run, and exits 0 once repaired", async () => {
    const { runtime } = t.get();
    const orphan = await tamperCommitted(db(), (d) =>
      d.db
        .insertInto("accounts")
        .values({ member_id: "00000000-0000-4000-8000-000000000000", password_hash: "x" })
        .returning("id")
        .executeTakeFirstOrThrow(),
    );
    const latestRun = () =>
      db()
        .db.selectFrom("invariant_runs")
        .selectAll()
        .orderBy("finished_at", "desc")
        .limit(1)
        .executeTakeFirstOrThrow();
    try {
      const bad = cliEnv(runtime);
      assert.equal(await runCli(["invariants", "check", "--actor", "tester"], bad.env), 1);
      const text = bad.lines.join("\n");
      assert.match(text, /identity\.orphans \(INV-8\): 1 violation/);
      assert.match(text, new RegExp(`account ${orphan.id}: member_id points to no row of members`));
      assert.match(text, /SEV-1/);
      assert.match(text, /docs\/runbooks\/invariant-violation\.md/);
      assert.equal(bad.progress.length, allInvariantChecks().length, "one progress line per check");
      const run = await latestRun();
      assert.equal(run.ok, false);
      assert.equal(run.actor, "operator:tester");
      assert.equal(run.checks, allInvariantChecks().length);
      const violations = (
        typeof run.violations === "string" ? JSON.parse(run.violations) : run.violations
      ) as Array<{
        id: string;
        sample: Array<{ subject_id: string }>;
      }>;
      assert.deepEqual(
        violations.map((v) => [v.id, v.sample.map((s) => s.subject_id)]),
        [["identity.orphans", [orphan.id]]],
      );
    } finally {
      await db().db.deleteFrom("accounts").where("id", "=", orphan.id).execute();
    }
    const good = cliEnv(runtime);
    assert.equal(await runCli(["invariants", "check", "--json"], good.env), 0, good.lines.join("\n"));
    const report = JSON.parse(good.lines.join("\n")) as InvariantReport;
    assert.equal(report.ok, true);
    const run = await latestRun();
    assert.deepEqual([run.id, run.ok, run.actor], [report.runId, true, "system:cli"]);
  });

  // INV-9 mechanisms: the trigger, shown on members (every timestamped table uses the same function).
  const touch = (name: string) =>
    sql<{ before: string; after: string }>`UPDATE members SET name = ${name} WHERE id = ${seed.memberId}
      RETURNING (SELECT updated_at::text FROM members WHERE id = ${seed.memberId}) AS before, updated_at::text AS after`;

  test("[G07] updated_at advances on every update", async () => {
    const { rows } = await touch("Renamed Once").execute(db().db);
    const advanced = await sql<{
      ok: boolean;
    }>`SELECT ${rows[0]!.after}::timestamptz > ${rows[0]!.before}::timestamptz AS ok`.execute(db().db);
    assert.equal(advanced.rows[0]?.ok, true, `${rows[0]?.before} -> ${rows[0]?.after}`);
  });

  test("[G07] updated_at cannot be moved backwards, even when it stays after created_at", async () => {
    await touch("Renamed Twice").execute(db().db);
    await assert.rejects(
      sql`UPDATE members SET updated_at = created_at WHERE id = ${seed.memberId}`.execute(db().db),
      (e: Error) => sqlState(e) === "23514" && /cannot move backwards/.test(e.message),
    );
  });

  test("[G07] created_at cannot be changed", async () => {
    await assert.rejects(
      sql`UPDATE members SET created_at = created_at - interval '1 hour' WHERE id = ${seed.memberId}`.execute(
        db().db,
      ),
      (e: Error) => sqlState(e) === "23514" && /immutable/.test(e.message),
    );
  });
});
