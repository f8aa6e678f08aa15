import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { runCli } from "../../src/app/cli.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { verifyAuditChain } from "../../src/core/audit-chain.ts";
import { sqlState } from "../../src/core/errors.ts";
import { suiteApp } from "../helpers/app.ts";
import { cliEnv, lastSeq, noteAction, sealedEntries, tamperCommitted, tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";

// The audit log is append-only (triggers) and tamper-evident (hash chain + anchors): each way of
// changing it behind ClubOS's back is tried here, as a superuser with the triggers switched off.

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "clubos-anchors-"));
const problemsOf = (r: { problems: { kind: string; seq: number }[] }) =>
  r.problems.map((p) => [p.kind, p.seq]);

forEachEngine("audit log", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database;
  const dir = () => t.get().config.backupDir;

  const refusals = [
    ["audit_log", "UPDATE", sql`UPDATE audit_log SET reason = 'rewritten'`],
    ["audit_log", "DELETE", sql`DELETE FROM audit_log`],
    // CASCADE is how truncating a referenced table would succeed; plain TRUNCATE stops at the foreign keys.
    ["audit_log", "TRUNCATE", sql`TRUNCATE audit_log CASCADE`],
    ["audit_chain", "UPDATE", sql`UPDATE audit_chain SET entry_hash = 'rewritten'`],
    ["audit_chain", "DELETE", sql`DELETE FROM audit_chain`],
    ["audit_chain", "TRUNCATE", sql`TRUNCATE audit_chain`],
  ] as const;
  for (const [table, op, statement] of refusals) {
    test(`[G04] ${op} on ${table} is refused by its append-only trigger`, async () => {
      await sealedEntries(db(), dir());
      const rows = () => sql`SELECT * FROM ${sql.table(table)} ORDER BY seq`.execute(db().db);
      const before = (await rows()).rows;
      await assert.rejects(statement.execute(db().db), (error: Error) => {
        assert.equal(sqlState(error), "42501");
        assert.match(error.message, new RegExp(`${table} is append-only: ${op} refused`));
        return true;
      });
      assert.deepEqual((await rows()).rows, before, "nothing changed");
    });
  }

  test("[G04] verify reports an untouched, sealed log as intact", async () => {
    await sealedEntries(db(), dir());
    const report = await verifyAuditChain(db(), dir());
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.ok(report.entries >= 3);
    assert.equal(report.sealed, report.entries);
    assert.equal(report.pending, 0);
  });

  test("[G04] verify detects an entry edited behind ClubOS's back", async () => {
    const [, middle] = await sealedEntries(db(), dir());
    const report = await tampered(db(), async (d) => {
      await sql`UPDATE audit_log SET reason = 'nothing to see' WHERE seq = ${middle}`.execute(d.db);
      return verifyAuditChain(d, dir());
    });
    assert.equal(report.ok, false);
    assert.deepEqual(problemsOf(report), [["edited", middle]]);
  });

  test("[G04] verify detects an entry deleted together with its seal", async () => {
    const [, middle, last] = await sealedEntries(db(), dir());
    const report = await tampered(db(), async (d) => {
      await sql`DELETE FROM audit_chain WHERE seq = ${middle}`.execute(d.db);
      await sql`DELETE FROM audit_log WHERE seq = ${middle}`.execute(d.db);
      return verifyAuditChain(d, dir());
    });
    assert.equal(report.ok, false);
    assert.deepEqual(problemsOf(report), [["removed", last]], "the chain breaks at the next entry");
  });

  test("[G04] verify detects an entry inserted in the middle of the sealed chain", async () => {
    const env = { database: db(), actor: systemActor("test"), clubName: "Test Club" };
    await assert.rejects(runAction(env, noteAction, { label: "rolled back", failAfterAudit: true }));
    const gap = await lastSeq(db());
    await sealedEntries(db(), dir(), 1);
    const report = await tampered(db(), async (d) => {
      await sql`INSERT INTO audit_log (seq, actor_type, actor_id, action, subject_type, subject_id)
        VALUES (${gap}, 'operator', 'operator:mallory', 'role.granted', 'role_assignment', 'forged')`.execute(
        d.db,
      );
      return verifyAuditChain(d, dir());
    });
    assert.equal(report.ok, false);
    assert.deepEqual(problemsOf(report), [["inserted", gap]]);
  });

  test("[G04] a consistently rewritten chain passes the hashes but not the anchors kept outside the database", async () => {
    const [first, , last] = await sealedEntries(db(), dir());
    const [withoutAnchors, withAnchors] = await tampered(db(), async (d) => {
      // What an attacker with the database would do: edit, then recompute every seal from the start.
      await sql`UPDATE audit_log SET reason = 'rewritten history' WHERE seq = ${first}`.execute(d.db);
      await sql`DELETE FROM audit_chain`.execute(d.db);
      await sql`SELECT clubos_audit_seal((SELECT max(seq) FROM audit_log))`.execute(d.db);
      return [await verifyAuditChain(d, tempDir()), await verifyAuditChain(d, dir())];
    });
    assert.deepEqual(
      problemsOf(withoutAnchors),
      [["anchors_missing", last]],
      "every hash agrees: only the absence of anchors shows",
    );
    assert.equal(withAnchors.ok, false);
    assert.ok(
      withAnchors.problems.every((p) => p.kind === "anchor_mismatch"),
      JSON.stringify(withAnchors),
    );
    assert.ok(
      problemsOf(withAnchors).some(([, seq]) => seq === last),
      "the anchor of the last seal differs",
    );
  });

  test("[G04] `clubos audit verify` exits 1 with PROBLEM lines on a tampered log and 0 on a clean one", async () => {
    const { runtime } = t.get();
    const [target] = await sealedEntries(db(), dir());
    const original = await db()
      .db.selectFrom("audit_log")
      .select("reason")
      .where("seq", "=", target!)
      .executeTakeFirstOrThrow();
    const setReason = (reason: string | null) =>
      tamperCommitted(db(), (d) =>
        sql`UPDATE audit_log SET reason = ${reason} WHERE seq = ${target}`.execute(d.db),
      );
    await setReason("tampered");
    try {
      const bad = cliEnv(runtime);
      assert.equal(await runCli(["audit", "verify"], bad.env), 1);
      assert.ok(
        bad.lines.includes(
          `PROBLEM (edited): Entry ${target} no longer matches its seal: it was edited after it was written.`,
        ),
        bad.lines.join("\n"),
      );
      assert.ok(bad.lines.some((l) => /SEV-1/.test(l)));
    } finally {
      await setReason(original.reason);
    }
    const good = cliEnv(runtime);
    assert.equal(await runCli(["audit", "verify"], good.env), 0, good.lines.join("\n"));
    assert.ok(good.lines.includes("The audit log is intact."));
    assert.ok(!good.lines.some((l) => l.startsWith("PROBLEM")));
  });
});
