import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openRuntime, type Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { connectPgliteMemory, connectPostgres, type Database } from "../../src/core/db/connect.ts";
import { ModeWatcher, type SystemState } from "../../src/core/modes.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { testConfig } from "../helpers/app.ts";
import { createServerDatabase, postgresUnavailable, REQUIRE_ALL } from "../helpers/engines.ts";

// Long enough that only LISTEN/NOTIFY can deliver a change inside the 2 seconds the tests allow.
const NO_POLLING = { CLUBOS_MODE_POLL_MS: "600000" };

/** Waits up to ms for the watcher to report the mode; returns how long it took. */
async function seen(current: () => SystemState | null, mode: string, ms = 2000): Promise<number> {
  const start = Date.now();
  while (current()?.mode !== mode) {
    if (Date.now() - start > ms)
      assert.fail(`mode ${mode} not seen within ${ms} ms (saw ${current()?.mode})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

const change = (runtime: Runtime, mode: string) =>
  runAction(runtime.actionEnv(operatorActor("alice")), setMode, { mode, reason: "propagation test" });

describe("mode changes reach every process (postgres)", async () => {
  const why = await postgresUnavailable();
  if (why) {
    if (REQUIRE_ALL) throw new Error(`Required suite cannot run: ${why}`);
    test(`skipped: ${why}`, { skip: why }, () => {});
    return;
  }
  let server: Awaited<ReturnType<typeof createServerDatabase>>;
  const handles: Database[] = [];
  const runtimes: Runtime[] = [];
  const watchers: ModeWatcher[] = [];

  /** A process of its own: its own pool on the same database, its own watcher. */
  const openProcess = async () => {
    const database = connectPostgres(server.url, 2);
    handles.push(database);
    const runtime = await openRuntime(testConfig(NO_POLLING).config, { migrations: "apply", database });
    runtimes.push(runtime);
    return runtime;
  };

  before(async () => {
    server = await createServerDatabase();
  });
  after(async () => {
    for (const w of watchers) await w.stop();
    for (const r of runtimes) await r.close();
    for (const d of handles) await d.close();
    await server?.drop();
  });

  test("[G10] a mode set through one process is seen by another within 2 seconds (LISTEN/NOTIFY)", async () => {
    const a = await openProcess();
    const b = await openProcess();
    await a.modes.start();
    await b.modes.start();
    assert.equal(b.modes.current()?.mode, "normal");
    await change(a, "read-only");
    await seen(() => b.modes.current(), "read-only");
    await change(a, "normal");
    await seen(() => b.modes.current(), "normal");
  });

  test("[G10] polling alone delivers the change when LISTEN is unavailable", async () => {
    const a = await openProcess();
    const database = connectPostgres(server.url, 2);
    handles.push(database);
    const noListen: Database = { ...database, listen: () => Promise.reject(new Error("LISTEN refused")) };
    const watcher = new ModeWatcher(noListen, 500);
    watchers.push(watcher);
    await watcher.start();
    assert.equal(watcher.current()?.mode, "normal");
    await change(a, "maintenance");
    await seen(() => watcher.current(), "maintenance");
    await change(a, "normal");
    await seen(() => watcher.current(), "normal");
  });
});

describe("mode changes in the embedded database (pglite)", () => {
  let database: Database;
  let runtime: Runtime;
  before(async () => {
    database = await connectPgliteMemory();
    runtime = await openRuntime(testConfig(NO_POLLING).config, { migrations: "apply", database });
  });
  after(async () => {
    await runtime?.close();
    await database?.close();
  });

  test("[G10] a change is visible at once after refresh, and the started watcher hears it by itself", async () => {
    await runtime.modes.start();
    assert.equal(runtime.modes.current()?.mode, "normal");
    await change(runtime, "read-only");
    await seen(() => runtime.modes.current(), "read-only");
    const other = new ModeWatcher(database, 600_000);
    assert.equal((await other.refresh())?.mode, "read-only");
    await change(runtime, "normal");
    assert.equal((await other.refresh())?.mode, "normal");
  });
});
