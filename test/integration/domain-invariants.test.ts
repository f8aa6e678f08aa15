import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runInvariantChecks } from "../../src/app/invariants.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import type { Database } from "../../src/core/db/connect.ts";
import { changeMemberStatus } from "../../src/domains/members/members.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";

const violationsOf = async (database: Database, id: string) =>
  (await runInvariantChecks(database, "system:test")).checks.find((c) => c.id === id)!;

forEachEngine("events and members invariants", (engine) => {
  const t = suiteApp(engine);
  let eventId = "";
  const regs: { id: string; status: string }[] = [];

  test("a club with registrations, a waitlist, cancellations and status changes passes every check", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 2 });
    eventId = event.id;
    for (let i = 0; i < 5; i++) {
      const m = await tokenMember(runtime);
      const r = await apiPost(baseUrl, m.token, `/api/v1/events/${event.id}/registrations`, {});
      regs.push({ id: r.body.id as string, status: r.body.status as string });
      if (i === 3) await apiPost(baseUrl, m.token, `/api/v1/registrations/${r.body.id}/cancel`);
    }
    const member = await tokenMember(runtime);
    await runAction(runtime.actionEnv(systemActor("test")), changeMemberStatus, {
      memberId: member.memberId,
      status: "suspended",
      reason: "test",
    });
    const report = await runInvariantChecks(runtime.database, "system:test");
    assert.deepEqual(
      report.checks.filter((c) => c.violations > 0 || c.error),
      [],
    );
    assert.ok(report.ok);
  });

  test("[G06] overselling, a duplicate active registration and a gap in the waitlist are each reported", async () => {
    const { database } = t.get().runtime;
    const confirmed = regs.find((r) => r.status === "confirmed")!;
    const oversold = await tampered(database, async (db) => {
      await sql`UPDATE events SET capacity = 1 WHERE id = ${eventId}`.execute(db.db);
      return violationsOf(db, "events.capacity");
    });
    assert.equal(oversold.violations, 1);
    assert.equal(oversold.sample[0]!.subject_id, eventId);
    const duplicate = await tampered(database, async (db) => {
      await sql`DROP INDEX registrations_one_active`.execute(db.db);
      await sql`INSERT INTO registrations (event_id, member_id, status)
        SELECT event_id, member_id, 'confirmed' FROM registrations WHERE id = ${confirmed.id}`.execute(db.db);
      return violationsOf(db, "events.one_active_registration");
    });
    assert.equal(duplicate.violations, 1);
    const gap = await tampered(database, async (db) => {
      await sql`UPDATE registrations SET waitlist_position = waitlist_position + 5 WHERE event_id = ${eventId} AND waitlist_position = 1`.execute(
        db.db,
      );
      return violationsOf(db, "events.waitlist_dense");
    });
    assert.ok(gap.violations >= 1);
    const orphan = await tampered(database, async (db) => {
      await sql`UPDATE members SET deleted_at = now() WHERE id = (SELECT member_id FROM registrations WHERE id = ${confirmed.id})`.execute(
        db.db,
      );
      return violationsOf(db, "events.live_references");
    });
    assert.equal(orphan.violations, 1);
    assert.equal(orphan.sample[0]!.detail, "its member is deleted");
  });

  test("[G06] the event tally keeps registration from overselling: without its trigger a full event takes more, and the checks say so", async () => {
    const { runtime } = t.get();
    const event = await publishedEvent(runtime, { capacity: 1 });
    const members = [await tokenMember(runtime), await tokenMember(runtime), await tokenMember(runtime)];
    const takeAll = async (db: Database) => {
      const statuses: string[] = [];
      for (const m of members) {
        const { rows } = await sql<{ reg_status: string }>`SELECT reg_status
          FROM clubos_take_place(gen_random_uuid(), ${event.id}::uuid, ${m.memberId}::uuid, '{}'::text[], NULL)`.execute(
          db.db,
        );
        statuses.push(rows[0]!.reg_status);
      }
      return statuses;
    };
    // Triggers off (session_replication_role = replica): the tally stays at 0 seats.
    const broken = await tampered(runtime.database, async (db) => ({
      statuses: await takeAll(db),
      capacity: await violationsOf(db, "events.capacity"),
      tallies: await violationsOf(db, "events.tallies"),
    }));
    assert.deepEqual(broken.statuses, ["confirmed", "confirmed", "confirmed"], "oversold without the tally");
    assert.equal(broken.capacity.violations, 1);
    assert.equal(broken.tallies.violations, 1);
    assert.match(
      broken.tallies.sample[0]!.detail,
      /tally says 0 seats and 0 waiting; registrations say 3 and 0/,
    );
    const statuses = await takeAll(runtime.database);
    assert.deepEqual(statuses, ["confirmed", "waitlisted", "waitlisted"], "with the trigger, one seat");
    assert.equal((await violationsOf(runtime.database, "events.tallies")).violations, 0);
  });

  test("[G06] a status change outside the state machine, or a status the history does not explain, is reported", async () => {
    const { database } = t.get().runtime;
    const illegal = await tampered(database, async (db) => {
      const m = await db.db
        .selectFrom("members")
        .select(["id", "status"])
        .where("status", "=", "active")
        .limit(1)
        .executeTakeFirstOrThrow();
      await sql`INSERT INTO member_status_history (member_id, from_status, to_status, reason, changed_by)
        VALUES (${m.id}, 'active', 'expired', 'edited by hand', 'operator:x')`.execute(db.db);
      await sql`UPDATE members SET status = 'expired' WHERE id = ${m.id}`.execute(db.db);
      return (await runInvariantChecks(db, "system:test")).checks;
    });
    assert.equal(illegal.find((c) => c.id === "members.status_transitions")!.violations, 1);
    assert.equal(illegal.find((c) => c.id === "members.status_history_current")!.violations, 0);
    const unexplained = await tampered(database, async (db) => {
      await sql`UPDATE members SET status = 'resigned' WHERE id = (SELECT id FROM members WHERE status = 'active' LIMIT 1)`.execute(
        db.db,
      );
      return violationsOf(db, "members.status_history_current");
    });
    assert.equal(unexplained.violations, 1);
    assert.match(unexplained.sample[0]!.detail, /status is resigned but the history ends at active/);
  });
});
