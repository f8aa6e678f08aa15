import assert from "node:assert/strict";
import { test } from "node:test";
import { findJob, JOBS } from "../../src/app/jobs.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { MODES, type Mode } from "../../src/core/modes.ts";
import { JOB_MODES, type Job, runJob } from "../../src/core/scheduler.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";

/* Each job declares the modes it runs in (Job.modes, one of JOB_MODES), and runJob alone reads it. */

/** What each job is for decides its modes: changing data or sending mail only when normal; protecting
 * the data (backups, drills, scans) in read-only too; watching the degraded state always. */
const EXPECTED: Record<string, readonly Mode[]> = {
  "lapse-members": ["normal"],
  "purge-import-details": ["normal"],
  "purge-idempotency-keys": ["normal"],
  "invariant-scan": ["normal", "read-only"],
  "incident-watch": ["normal", "read-only", "maintenance"],
  "expire-join-applications": ["normal"],
  backup: ["normal", "read-only"],
  "backup-drill": ["normal", "read-only"],
  "renewal-reminders": ["normal"],
  "scheduled-publish": ["normal"],
  "pages-leak-audit": ["normal"],
  "purge-access-data": ["normal"],
};

test("every scheduled job declares the modes it runs in", () => {
  assert.deepEqual(
    Object.fromEntries(JOBS.map((job) => [job.name, [...job.modes]])),
    Object.fromEntries(Object.entries(EXPECTED).map(([name, modes]) => [name, [...modes]])),
  );
});

forEachEngine("the scheduler runs a job only in the modes it declares", (engine) => {
  const t = suiteApp(engine);
  const switchTo = (mode: Mode) =>
    runAction(t.get().runtime.actionEnv(operatorActor("test")), setMode, { mode, reason: "job modes test" });

  test("a job runs in its declared modes and is deferred, never started, in the others", async () => {
    const { runtime } = t.get();
    const started: string[] = [];
    const probe = (name: string, modes: readonly Mode[]): Job => ({
      name,
      description: "counts starts",
      intervalMs: 1000,
      modes,
      run: async () => {
        started.push(name);
        return { changed: 0, failed: 0 };
      },
    });
    const probes = Object.entries(JOB_MODES).map(([set, modes]) => probe(`test-${set}`, modes));
    try {
      for (const mode of MODES) {
        await switchTo(mode);
        for (const job of probes) {
          started.length = 0;
          const result = await runJob(runtime, job);
          const runs = job.modes.includes(mode);
          assert.equal(result.outcome, runs ? "ok" : "deferred", `${job.name} in ${mode}: ${result.reason}`);
          assert.deepEqual(started, runs ? [job.name] : [], `${job.name} in ${mode} started only if it runs`);
          if (!runs) assert.match(result.reason ?? "", new RegExp(`${mode} mode`));
        }
      }

      // The real jobs: a backup waits out a restore (maintenance); reminders and publishing wait out
      // read-only; the invariant scan runs in read-only.
      await switchTo("maintenance");
      assert.equal((await runJob(runtime, findJob("backup")!)).outcome, "deferred");
      assert.equal((await runJob(runtime, findJob("backup-drill")!)).outcome, "deferred");
      await switchTo("read-only");
      assert.equal((await runJob(runtime, findJob("renewal-reminders")!)).outcome, "deferred");
      assert.equal((await runJob(runtime, findJob("scheduled-publish")!)).outcome, "deferred");
      const scan = await runJob(runtime, findJob("invariant-scan")!);
      assert.equal(scan.outcome, "ok", scan.reason);
    } finally {
      await switchTo("normal");
    }
  });
});
