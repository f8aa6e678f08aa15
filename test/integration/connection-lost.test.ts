import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { defineAction, runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { toClubError } from "../../src/http/error-handler.tsx";
import { suiteApp } from "../helpers/app.ts";
import { postgresOnly } from "../helpers/engines.ts";

postgresOnly("a database connection lost in the middle of a transaction", () => {
  const t = suiteApp("postgres");

  test("[G02] the action fails as database_unavailable, nothing of it is written, and the server goes on", async () => {
    const { runtime, baseUrl } = t.get();
    const name = `Lost ${Date.now()}`;
    let pid = 0;
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    const halfDone = defineAction({
      name: "halfDone",
      access: { capability: "members:write" },
      effect: "write",
      async run({ trx }) {
        pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)).rows[0]!.pid;
        await sql`INSERT INTO committees (name) VALUES (${name})`.execute(trx);
        entered();
        await gate;
        return { result: 1, audit: { action: "test.noted", subjectType: "test", subjectId: "lost" } };
      },
    });
    // What would have crashed a server: an error event nobody listens to.
    const uncaught: string[] = [];
    const onUncaught = (error: Error) => uncaught.push(error.message);
    process.on("uncaughtException", onUncaught);
    const running = runAction(runtime.actionEnv(systemActor("test")), halfDone, {});
    await inside;
    // PostgreSQL ends the backend while the action holds its connection between two queries, as a
    // server restart would. Before the pool's clients had an error listener, the 'error' event this
    // raises was uncaught and ended the whole process (and this test with it).
    await sql`SELECT pg_terminate_backend(${pid})`.execute(runtime.database.db);
    await new Promise((r) => setTimeout(r, 300));
    process.off("uncaughtException", onUncaught);
    assert.deepEqual(uncaught, [], "nothing was thrown where no one catches it");
    release();
    await assert.rejects(running, (error: unknown) => {
      assert.equal(toClubError(error, "test").code, "database_unavailable");
      return true;
    });
    const written = await runtime.database.db
      .selectFrom("committees")
      .select("id")
      .where("name", "=", name)
      .execute();
    assert.deepEqual(written, [], "the half-done transaction left nothing");
    assert.equal((await fetch(`${baseUrl}/readyz`)).status, 200, "the server and its pool go on");
    // The same action again, on a fresh connection, commits (the gate is open now).
    assert.equal(await runAction(runtime.actionEnv(systemActor("test")), halfDone, {}), 1);
    const kept = await runtime.database.db
      .selectFrom("committees")
      .select("id")
      .where("name", "=", name)
      .execute();
    assert.equal(kept.length, 1);
  });
});
