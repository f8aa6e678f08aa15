import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runInvariantChecks } from "../../src/app/invariants.ts";
import type { Database } from "../../src/core/db/connect.ts";
import { type CheckResult, runChecks } from "../../src/core/invariants.ts";
import { auditChainCheck, type ChainScope } from "../../src/domains/ops/ops.invariants.ts";
import { suiteApp } from "../helpers/app.ts";
import { sealedEntries, tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";

// The chain check is cut into seq ranges that the runner checks at the same time on separate
// connections (bench:scan). Each range starts its links from the chain hash stored just before it,
// so a tamper at a range's first or last entry is where one could slip through. With ranges of two
// seqs, every entry of the chain is some range's first or last: each tamper is tried on every entry,
// and the ranged check must report exactly what the one-range check does, and find the tamper.

const RANGED = 2;
const WHOLE = Number.POSITIVE_INFINITY;

async function chainCheck(d: Database, scope: ChainScope, rangeSeqs: number): Promise<CheckResult> {
  const check = auditChainCheck(scope, { rangeSeqs });
  const parts = (await check.plan?.(d))?.parts.length ?? 0;
  const report = await runChecks(d, "system:test", [check]);
  const result = report.checks[0];
  assert.ok(result && result.error === undefined, result?.error);
  return Object.assign(result, { parts });
}

const found = (r: CheckResult) => r.sample.map((v) => `${v.subject_type} ${v.subject_id}: ${v.detail}`);

forEachEngine("audit chain check in ranges", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database;
  const dir = () => t.get().config.backupDir;

  test("[G04] a tamper at any range's first or last entry is reported, exactly as by one query over the chain", async () => {
    await sealedEntries(db(), dir(), 6);
    await runInvariantChecks(db(), "system:test"); // a full check's checkpoint: the scheduled scope starts here
    await sealedEntries(db(), dir(), 6);
    const { rows } = await sql<{ seq: string }>`SELECT seq FROM audit_chain ORDER BY seq`.execute(db().db);
    const seqs = rows.map((r) => Number(r.seq));
    const head = seqs.at(-1)!;
    const next = (seq: number) => seqs[seqs.indexOf(seq) + 1];

    const tampers: Array<[string, (seq: number) => string[], (seq: number) => string | null]> = [
      [
        "edited",
        (s) => [`UPDATE audit_log SET reason = 'forged' WHERE seq = ${s}`],
        (s) => `audit_log ${s}: entry no longer matches`,
      ],
      [
        "deleted from the log",
        (s) => [`DELETE FROM audit_log WHERE seq = ${s}`],
        (s) => `audit_chain ${s}: entry was sealed but is gone`,
      ],
      [
        "unsealed",
        (s) => [`DELETE FROM audit_chain WHERE seq = ${s}`],
        (s) => (s === head ? null : `audit_log ${s}: entry sits below the sealed head`),
      ],
      [
        "removed with its seal",
        (s) => [`DELETE FROM audit_chain WHERE seq = ${s}`, `DELETE FROM audit_log WHERE seq = ${s}`],
        (s) => (s === head ? null : `audit_chain ${next(s)}: the chain breaks before this entry`),
      ],
      [
        "rehashed",
        (s) => [`UPDATE audit_chain SET chain_hash = repeat('f', 64) WHERE seq = ${s}`],
        (s) => `audit_chain ${s}: the chain breaks`,
      ],
    ];
    for (const [kind, statements, expected] of tampers) {
      for (const seq of seqs) {
        const { ranged, whole } = await tampered(db(), async (d) => {
          for (const statement of statements(seq)) await sql.raw(statement).execute(d.db);
          const out: Record<string, CheckResult> = {};
          for (const scope of ["full", "scheduled"] as const) {
            out[`ranged ${scope}`] = await chainCheck(d, scope, RANGED);
            out[`whole ${scope}`] = await chainCheck(d, scope, WHOLE);
          }
          return {
            ranged: [out["ranged full"]!, out["ranged scheduled"]!],
            whole: [out["whole full"]!, out["whole scheduled"]!],
          };
        });
        for (const [i, scope] of ["full", "scheduled"].entries()) {
          const label = `${kind} at ${seq}, ${scope} scope`;
          assert.deepEqual(found(ranged[i]!), found(whole[i]!), label);
          assert.equal(ranged[i]!.violations, whole[i]!.violations, label);
        }
        const want = expected(seq);
        if (want)
          assert.ok(
            found(ranged[0]!).some((f) => f.startsWith(want)),
            `${kind} at ${seq}: ${found(ranged[0]!).join("; ")}`,
          );
      }
    }
  });

  test("[G04] the chain is cut into several ranges, and their samples merge into the one-query sample", async () => {
    await sealedEntries(db(), dir(), 120);
    const { ranged, whole } = await tampered(db(), async (d) => {
      // Every entry edited: more violations than a sample holds, spread over every range.
      await sql`UPDATE audit_log SET reason = 'forged'`.execute(d.db);
      return { ranged: await chainCheck(d, "full", 20), whole: await chainCheck(d, "full", WHOLE) };
    });
    const parts = (r: CheckResult) => (r as CheckResult & { parts: number }).parts;
    assert.ok(parts(ranged) >= 9, `checkpoints, 4+ presence and 4+ re-hash ranges: ${parts(ranged)}`);
    assert.equal(parts(whole), 3, "one of each");
    assert.ok(whole.violations > 120);
    assert.equal(ranged.violations, whole.violations);
    assert.equal(ranged.sample.length, 100);
    assert.deepEqual(ranged.sample, whole.sample);
  });
});
