import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { allInvariantChecks, runInvariantChecks } from "../../src/app/invariants.ts";
import { findJob } from "../../src/app/jobs.ts";
import { verifyAuditChain } from "../../src/core/audit-chain.ts";
import type { Database } from "../../src/core/db/connect.ts";
import { type InvariantReport, runChecks } from "../../src/core/invariants.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { suiteApp } from "../helpers/app.ts";
import { sealedEntries, tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";

// The scheduled scan re-hashes only the audit entries sealed after the last verified checkpoint
// (bench:scan: the full re-hash of 1,000,000 entries is most of a 10 s budget). What that costs is
// exactly one thing, and these tests pin it: an edit of an entry older than the checkpoint waits for
// the next full check, which `clubos invariants check`, `clubos audit verify` and drills always are.
// Everything else (edits after the checkpoint, deletes, inserts, a cut-off tail) the scheduled scan
// still finds.

const chainOf = (report: InvariantReport) => {
  const check = report.checks.find((c) => c.id === "ops.audit_chain");
  assert.ok(check, "the chain is checked");
  return check;
};
const scheduled = (d: Database) => runChecks(d, "system:test", allInvariantChecks({ chain: "scheduled" }));

forEachEngine("audit chain checkpoints", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database;
  const dir = () => t.get().config.backupDir;

  test("[G04] a full check records its head as a checkpoint; the scheduled scan then re-hashes only newer entries and says so", async () => {
    const [old] = await sealedEntries(db(), dir());
    const full = await runInvariantChecks(db(), "system:test");
    assert.equal(chainOf(full).violations, 0);
    assert.equal(chainOf(full).note, undefined, "a full check has no note");
    const checkpoint = await db()
      .db.selectFrom("audit_chain_checkpoints")
      .selectAll()
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(checkpoint.full_scan, true);
    const head = await db()
      .db.selectFrom("audit_chain")
      .select(["seq", "chain_hash"])
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(Number(checkpoint.seq), Number(head.seq));
    assert.equal(checkpoint.chain_hash, head.chain_hash);

    await sealedEntries(db(), dir());
    const job = findJob("invariant-scan");
    assert.ok(job);
    const run = await runJob(t.get().runtime, job);
    assert.equal(run.outcome, "ok", run.reason);
    assert.match(
      run.summary?.detail ?? "",
      new RegExp(
        `all \\d+ checks passed .*ops\\.audit_chain incremental: re-hashed and re-linked the entries sealed after checkpoint seq ${checkpoint.seq}`,
      ),
    );

    // An edit before the checkpoint: the scheduled scan does not re-hash it; every full check finds it.
    const before = await tampered(db(), async (d) => {
      await sql`UPDATE audit_log SET reason = 'rewritten' WHERE seq = ${old}`.execute(d.db);
      return {
        scheduled: await scheduled(d),
        full: await runInvariantChecks(d, "system:test"),
        verify: await verifyAuditChain(d, dir()),
      };
    });
    assert.equal(chainOf(before.scheduled).violations, 0, "the known cost of the incremental scan");
    assert.match(chainOf(before.scheduled).note ?? "", /^incremental/);
    assert.equal(chainOf(before.full).violations, 1);
    assert.match(chainOf(before.full).sample[0]?.detail ?? "", /edited after it was written/);
    assert.equal(chainOf(before.full).sample[0]?.subject_id, String(old));
    assert.deepEqual(
      before.verify.problems.map((p) => [p.kind, p.seq]),
      [["edited", old]],
    );

    // An edit after the checkpoint (the job's clean run recorded one too): the scheduled scan finds it.
    const [fresh] = await sealedEntries(db(), dir());
    const after = await tampered(db(), async (d) => {
      await sql`UPDATE audit_log SET reason = 'rewritten' WHERE seq = ${fresh}`.execute(d.db);
      return scheduled(d);
    });
    assert.equal(chainOf(after).violations, 1);
    assert.equal(chainOf(after).sample[0]?.subject_id, String(fresh));
  });

  test("[G04] deletes, inserts and a cut-off tail are found by the scheduled scan on either side of the checkpoint", async () => {
    const [first, middle] = await sealedEntries(db(), dir(), 4);
    await runInvariantChecks(db(), "system:test"); // checkpoint at the head
    await sealedEntries(db(), dir());
    const details = async (change: (d: Database) => Promise<unknown>) =>
      tampered(db(), async (d) => {
        await change(d);
        return chainOf(await scheduled(d)).sample.map((v) => `${v.subject_type} ${v.detail}`);
      });

    // A sealed entry deleted from the log alone (its seal kept), before the checkpoint.
    const deleted = await details((d) => sql`DELETE FROM audit_log WHERE seq = ${middle}`.execute(d.db));
    assert.ok(
      deleted.some((x) => /^audit_chain entry was sealed but is gone from the audit log/.test(x)),
      deleted.join("\n"),
    );
    // Deleted with its seal (the link before the checkpoint is not re-computed): the count is off.
    const both = await details(async (d) => {
      await sql`DELETE FROM audit_chain WHERE seq = ${middle}`.execute(d.db);
      await sql`DELETE FROM audit_log WHERE seq = ${middle}`.execute(d.db);
    });
    assert.ok(
      both.some((x) => /sealed entries were removed or added behind ClubOS's back/.test(x)),
      both.join("\n"),
    );
    // An entry inserted below the head, behind ClubOS's back.
    const inserted = await details((d) =>
      sql`INSERT INTO audit_log (seq, actor_type, actor_id, action, subject_type, subject_id)
        VALUES (${first} - 1000000, 'system', 'system:ghost', 'member.updated', 'member', 'x')`.execute(d.db),
    );
    assert.ok(
      inserted.some((x) => /was never sealed: it was inserted/.test(x)),
      inserted.join("\n"),
    );
    // The newest entries, the checkpoint's own head among them, removed with their seals.
    const cut = await details(async (d) => {
      await sql`DELETE FROM audit_chain WHERE seq >= ${middle}`.execute(d.db);
      await sql`DELETE FROM audit_log WHERE seq >= ${middle}`.execute(d.db);
    });
    assert.ok(
      cut.some((x) =>
        /^audit_chain_checkpoint the chain no longer holds the head verified at .*entries were removed from the end of the log/.test(
          x,
        ),
      ),
      cut.join("\n"),
    );
  });

  test("[G04] without a recent full check the scheduled scan re-hashes everything", async () => {
    await sealedEntries(db(), dir());
    await runInvariantChecks(db(), "system:test");
    const report = await tampered(db(), async (d) => {
      await sql`UPDATE audit_chain_checkpoints SET verified_at = verified_at - interval '2 days'`.execute(
        d.db,
      );
      return scheduled(d);
    });
    assert.equal(chainOf(report).violations, 0);
    assert.equal(chainOf(report).note, undefined, "a full re-hash, so no note");
  });
});
