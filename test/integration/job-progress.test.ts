import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { claimJobRun, readJobProgress, recordJobRun } from "../../src/core/job-progress.ts";
import { forEachEngine, suiteDatabase } from "../helpers/engines.ts";

/* A job's progress row (job_progress) as the operator pages read it, and the claim that lets only one
 * run of a one-at-a-time step (a restore) hold it: two processes starting at once cannot both go on. */

forEachEngine("job progress: one run holds a job's row at a time", (engine) => {
  const s = suiteDatabase(engine);
  const db = () => s.get().database.db;
  const run = (job: string, n: number) => ({ job, runId: `${job}:${n}`, triggeredBy: `operator:p${n}` });

  test("of many claims made at once exactly one wins, and the row stays the winner's", async () => {
    const job = `claim-${Date.now()}`;
    const claims = await Promise.all(Array.from({ length: 8 }, (_, n) => claimJobRun(db(), run(job, n))));
    const winners = claims.flatMap((c, n) => (c ? [n] : []));
    assert.equal(winners.length, 1, `one winner, not ${winners.length}`);
    const [row] = await readJobProgress(db(), [job]);
    assert.equal(row?.runId, `${job}:${winners[0]}`);
    assert.equal(row?.running, true);
    claims[winners[0]!]!.note("loading");
    await claims[winners[0]!]!.finish("ok", "done");
    const [after] = await readJobProgress(db(), [job]);
    assert.equal(after?.outcome, "ok");
    assert.equal(after?.runId, `${job}:${winners[0]}`);
  });

  test("a finished run or a stale one (its process stopped) is claimed; a running one is not", async () => {
    const job = `stale-${Date.now()}`;
    const first = await claimJobRun(db(), run(job, 1));
    assert.ok(first);
    assert.equal(await claimJobRun(db(), run(job, 2)), null, "refused while the first runs");
    await sql`UPDATE job_progress SET updated_at = now() - interval '2 minutes' WHERE job = ${job}`.execute(
      db(),
    );
    const third = await claimJobRun(db(), run(job, 3));
    assert.ok(third, "a run nobody has touched for a while stopped with its process");
    await third.finish("failed", "gave up");
    assert.ok(await claimJobRun(db(), run(job, 4)), "a finished run leaves the row free");
  });

  test("recordJobRun (the scheduler's, under its job lock) always replaces the row", async () => {
    const job = `record-${Date.now()}`;
    assert.ok(await claimJobRun(db(), run(job, 1)));
    const second = await recordJobRun(db(), run(job, 2));
    const [row] = await readJobProgress(db(), [job]);
    assert.equal(row?.runId, `${job}:2`);
    await second.finish("ok", undefined);
  });
});
