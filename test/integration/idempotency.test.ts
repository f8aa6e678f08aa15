import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { idempotencyPurgeJob } from "../../src/core/idempotency.job.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";

/** Stores keys as runIdempotent would, expiring in `minutes` (negative: already expired). */
async function storeKeys(runtime: Runtime, prefix: string, count: number, minutes: number): Promise<void> {
  await sql`INSERT INTO idempotency_keys (caller, key, request_hash, response_status, response_body, expires_at)
    SELECT 'member:test', ${prefix} || n, 'hash', 201, '{}'::jsonb, now() + make_interval(mins => ${minutes})
    FROM generate_series(1, ${count}) AS n`.execute(runtime.database.db);
}

const keysLike = async (runtime: Runtime, prefix: string) =>
  (
    await runtime.database.db
      .selectFrom("idempotency_keys")
      .select("key")
      .where("key", "like", `${prefix}%`)
      .execute()
  ).length;

forEachEngine("idempotency key purge", (engine) => {
  const t = suiteApp(engine);

  test("the purge job removes keys past their expiry, in batches, and keeps the live ones", async () => {
    const { runtime } = t.get();
    await storeKeys(runtime, "expired-", 2500, -1);
    await storeKeys(runtime, "live-", 3, 60);
    const result = await runJob(runtime, idempotencyPurgeJob);
    assert.equal(result.outcome, "ok", result.reason);
    assert.ok((result.summary?.changed ?? 0) >= 2500, `removed ${result.summary?.changed}`);
    assert.equal(await keysLike(runtime, "expired-"), 0, "expired keys are gone");
    assert.equal(await keysLike(runtime, "live-"), 3, "live keys are kept");
    const second = await runJob(runtime, idempotencyPurgeJob);
    assert.equal(second.summary?.changed, 0, "a second run has nothing left to do");
  });

  test("`clubos jobs list` lists the purge and `clubos jobs run purge-idempotency-keys` runs it", async () => {
    const { runtime, config } = t.get();
    await storeKeys(runtime, "by-hand-", 2, -1);
    const lines: string[] = [];
    const env: CliEnv = {
      io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: () => {} },
      config,
      withRuntime: (fn) => fn(runtime),
    };
    assert.equal(await runCli(["jobs", "list"], env), 0, lines.join("\n"));
    assert.match(lines.join("\n"), /^purge-idempotency-keys: .* \(every 60 min\)$/m);
    assert.equal(
      await runCli(["jobs", "run", "purge-idempotency-keys", "--actor", "alice"], env),
      0,
      lines.join("\n"),
    );
    assert.match(lines.join("\n"), /purge-idempotency-keys ok: \d+ changed, 0 failed/);
    assert.equal(await keysLike(runtime, "by-hand-"), 0);
  });
});
