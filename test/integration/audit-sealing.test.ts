import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { defineAction, runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { writeAuditEntry } from "../../src/core/audit.ts";
import { sealAuditChain, verifyAuditChain } from "../../src/core/audit-chain.ts";
import { sqlState } from "../../src/core/errors.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { lastSeq, noteAction, sealAll, sealedEntries } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";

// An action and its audit entry commit together or not at all (W-2), and the sealer chains every
// committed entry in seq order however actions interleave, passing over the seqs of rolled-back ones.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachEngine("audit atomicity and sealing", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database;
  const dir = () => t.get().config.backupDir;

  test("[G02] an action whose audit entry is refused leaves no domain write", async () => {
    const email = `ghost-${Date.now()}@example.org`;
    let insertedId: string | undefined;
    const badAudit = defineAction({
      name: "testBadAudit",
      access: { capability: "members:write" },
      effect: "write",
      async run({ trx }, input: { email: string }) {
        const row = await trx
          .insertInto("members")
          .values({ name: "Ghost", email: input.email })
          .returning("id")
          .executeTakeFirstOrThrow();
        insertedId = row.id;
        // Not noun.past_tense: the CHECK on audit_log.action refuses it.
        return {
          result: row.id,
          audit: { action: "Member Created!", subjectType: "member", subjectId: row.id },
        };
      },
    });
    await assert.rejects(
      runAction({ database: db(), actor: systemActor("test"), clubName: "Test Club" }, badAudit, { email }),
      (e) => {
        assert.equal(sqlState(e), "23514");
        return true;
      },
    );
    assert.ok(insertedId, "the member was inserted inside the action");
    const left = await db().db.selectFrom("members").select("id").where("email", "=", email).execute();
    assert.deepEqual(left, [], "the member insert was rolled back with the audit entry");
  });

  test("[G02] an audit insert that raises rolls back the action's domain write", async () => {
    const d = db().db;
    await sql`CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.action = 'member.created' AND NEW.after->>'name' = 'Refused Audit' THEN
          RAISE EXCEPTION 'audit store refused the entry';
        END IF;
        RETURN NEW;
      END $$`.execute(d);
    await sql`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`.execute(d);
    const email = `refused-${Date.now()}@example.org`;
    try {
      await assert.rejects(
        runAction({ database: db(), actor: systemActor("test"), clubName: "Test Club" }, createMemberRecord, {
          name: "Refused Audit",
          email,
        }),
        /audit store refused the entry/,
      );
    } finally {
      await sql`DROP TRIGGER test_refuse_audit ON audit_log`.execute(d);
      await sql`DROP FUNCTION test_refuse_audit()`.execute(d);
    }
    const left = await d.selectFrom("members").select("id").where("email", "=", email).execute();
    assert.deepEqual(left, [], "no member without its audit entry");
  });

  test("[G04] a rolled-back action leaves a gap in seq that sealing passes over", async () => {
    const env = { database: db(), actor: systemActor("test"), clubName: "Test Club" };
    const before = (await sealedEntries(db(), dir(), 1))[0]!;
    await assert.rejects(runAction(env, noteAction, { label: "rolled back", failAfterAudit: true }));
    const gap = before + 1;
    await runAction(env, noteAction, { label: "after the gap" });
    await sealAll(db(), dir());
    const chained = await db()
      .db.selectFrom("audit_chain")
      .select("seq")
      .where("seq", ">=", before)
      .orderBy("seq")
      .execute();
    assert.deepEqual(
      chained.map((r) => Number(r.seq)),
      [before, gap + 1],
      "the entry after the gap is sealed",
    );
    const report = await verifyAuditChain(db(), dir());
    assert.deepEqual(report.problems, []);
    assert.equal(report.pending, 0);
  });

  test("[G04] bursts of 30 concurrent actions are all sealed in seq order and verify stays intact", async () => {
    const env = t.get().runtime.actionEnv(systemActor("test"));
    const start = await lastSeq(db());
    let running = true;
    // A sealer racing the actions: without the settled horizon it would seal past an entry still in
    // flight, which then commits below the head, unsealed. Outbox rows after the entry vary how long
    // each transaction stays open after taking its seq, so commits land out of seq order.
    const sealer = (async () => {
      while (running) {
        await sealAuditChain(db(), dir());
        await sleep(0);
      }
    })();
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          runAction(env, noteAction, { label: `parallel-${burst}-${i}`, messages: (i * 7) % 6 }),
        ),
      );
    }
    running = false;
    await sealer;
    await sealAll(db(), dir());
    const rows = await db()
      .db.selectFrom("audit_log as a")
      .leftJoin("audit_chain as c", "c.seq", "a.seq")
      .select(["a.seq", "c.sealed_at"])
      .where("a.seq", ">", start)
      .orderBy("a.seq")
      .execute();
    assert.equal(rows.length, 90);
    const unsealed = rows.filter((r) => !r.sealed_at).map((r) => Number(r.seq));
    assert.deepEqual(unsealed, [], "every entry is sealed");
    const sealedAt = rows.map((r) => new Date(r.sealed_at!).getTime());
    for (let i = 1; i < sealedAt.length; i++)
      assert.ok(sealedAt[i]! >= sealedAt[i - 1]!, "sealed in seq order");
    const report = await verifyAuditChain(db(), dir());
    assert.deepEqual(report.problems, []);
  });

  if (engine === "postgres") {
    test("[G04] nothing is sealed past an entry still in flight below a committed one", async () => {
      let entered!: () => void;
      let release!: () => void;
      const inFlight = new Promise<void>((r) => (entered = r));
      const gate = new Promise<void>((r) => (release = r));
      const slow = db()
        .db.transaction()
        .execute(async (trx) => {
          await writeAuditEntry(
            trx,
            { actor: systemActor("slow"), requestId: undefined, effect: "write" },
            { action: "test.noted", subjectType: "test", subjectId: "slow" },
          );
          entered();
          await gate;
        });
      try {
        await inFlight;
        await runAction({ database: db(), actor: systemActor("test"), clubName: "Test Club" }, noteAction, {
          label: "fast",
        });
        const fastSeq = await lastSeq(db());
        // The sealer waits briefly for the in-flight writer, then gives up for now: it must not
        // seal the committed entry above the one still in flight, nor stall writers meanwhile.
        await sealAuditChain(db(), dir());
        const sealed = await db()
          .db.selectFrom("audit_chain")
          .select("seq")
          .where("seq", ">=", fastSeq - 1)
          .execute();
        assert.deepEqual(sealed, [], "nothing at or above the in-flight entry is sealed while it is open");
        await runAction({ database: db(), actor: systemActor("test"), clubName: "Test Club" }, noteAction, {
          label: "not stalled",
        });
      } finally {
        release(); // never leave the transaction open, even when an assertion failed
        await slow;
      }
      await sealAll(db(), dir());
      const report = await verifyAuditChain(db(), dir());
      assert.deepEqual(report.problems, []);
    });
  }
});
