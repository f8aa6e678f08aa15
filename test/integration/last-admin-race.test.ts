import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { FULL_ADMIN_SET_LOCK } from "../../src/domains/identity/identity.repository.ts";
import { changeMemberStatus } from "../../src/domains/members/members.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { postgresOnly } from "../helpers/engines.ts";

// Only a server has two transactions at once; PGlite runs one connection, so the race cannot happen there.
postgresOnly("the last full administrator under concurrent changes", () => {
  const t = suiteApp("postgres");

  test("[G03] two changes at once cannot each remove one of the last two full administrators", async () => {
    const { runtime, testDb } = t.get();
    const first = await createMember(runtime, ["member", "full_admin"], "Admin One");
    const second = await createMember(runtime, ["member", "full_admin"], "Admin Two");

    // Another change removing the second admin, caught half-way: it holds the lock and has not committed.
    const other = new pg.Client({ connectionString: testDb.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock($1)", [FULL_ADMIN_SET_LOCK]);
      await other.query("UPDATE members SET status = 'suspended' WHERE id = $1", [second.memberId]);

      const env = runtime.actionEnv(operatorActor("alice"));
      let settled = false;
      const suspendFirst = runAction(env, changeMemberStatus, {
        memberId: first.memberId,
        status: "suspended",
        reason: "at the same time",
      }).finally(() => {
        settled = true;
      });
      suspendFirst.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(settled, false, "the second change waits for the first instead of counting two admins");

      await other.query("COMMIT");
      await assert.rejects(
        suspendFirst,
        (error: Error & { code?: string }) => error.code === "last_full_admin",
      );
    } finally {
      await other.end();
    }
    const rows = await runtime.database.db
      .selectFrom("members")
      .select(["id", "status"])
      .where("id", "in", [first.memberId, second.memberId])
      .execute();
    const status = Object.fromEntries(rows.map((r) => [r.id, r.status]));
    assert.equal(status[first.memberId], "active", "one full administrator is left");
    assert.equal(status[second.memberId], "suspended");
  });
});
