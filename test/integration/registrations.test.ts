import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import { runInvariantChecks } from "../../src/app/invariants.ts";
import { runAction } from "../../src/core/action.ts";
import type { Actor } from "../../src/core/actor.ts";
import { capabilitiesOf } from "../../src/core/capabilities.ts";
import { registerForEvent } from "../../src/domains/events/events.actions.ts";
import { register, registrationContext } from "../../src/domains/events/events.repository.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine, postgresOnly } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { bearerJson } from "../helpers/http.ts";

const memberActorOf = (m: { memberId: string; name: string }): Actor => ({
  type: "member",
  memberId: m.memberId,
  name: m.name,
  capabilities: new Set(capabilitiesOf(["member"])),
});

forEachEngine("event registration", (engine) => {
  const t = suiteApp(engine);

  test("[G02] capacity holds: seats fill, then the waitlist; guests count against capacity", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 3 });
    const a = await tokenMember(runtime);
    const b = await tokenMember(runtime);
    const c = await tokenMember(runtime);
    const first = await apiPost(baseUrl, a.token, `/api/v1/events/${event.id}/registrations`, {
      guests: ["Guest One"],
    });
    assert.equal(first.status, 201);
    assert.equal(first.body.status, "confirmed");
    const second = await apiPost(baseUrl, b.token, `/api/v1/events/${event.id}/registrations`, {
      guests: ["G2", "G3"],
    });
    assert.equal(second.body.status, "waitlisted", "2 free seats cannot take 3 people");
    assert.equal(second.body.waitlistPosition, 1);
    const third = await apiPost(baseUrl, c.token, `/api/v1/events/${event.id}/registrations`, {});
    assert.equal(third.body.status, "waitlisted", "nobody jumps the queue while someone waits");
    assert.equal(third.body.waitlistPosition, 2);
    const again = await apiPost(baseUrl, a.token, `/api/v1/events/${event.id}/registrations`, {});
    assert.equal(again.status, 409, "one active registration per member");
    const cancelled = await apiPost(baseUrl, a.token, `/api/v1/registrations/${first.body.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.deepEqual(
      cancelled.body.promoted,
      [second.body.id],
      "the first in line (3 people) takes the 3 free seats",
    );
    const rows = await runtime.database.db
      .selectFrom("registrations")
      .selectAll()
      .where("event_id", "=", event.id)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.equal(byId.get(second.body.id as string)?.status, "confirmed");
    assert.equal(byId.get(third.body.id as string)?.status, "waitlisted", "no seat is left for the next");
    assert.equal(byId.get(third.body.id as string)?.waitlist_position, 1, "positions stay dense");
  });

  test("[G02] a registration, its audit entry and its outbox message commit together", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 1 });
    const m = await tokenMember(runtime);
    const res = await apiPost(baseUrl, m.token, `/api/v1/events/${event.id}/registrations`, {});
    const db = runtime.database.db;
    const audit = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", res.body.id as string)
      .execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.action, "registration.confirmed");
    const outbox = await db.selectFrom("outbox").selectAll().where("audit_id", "=", audit[0]!.id).execute();
    assert.equal(outbox.length, 1);
    assert.equal(outbox[0]!.recipient, m.email);
    assert.match(outbox[0]!.subject ?? "", /You are registered/);
    assert.deepEqual(outbox[0]!.payload, { registrationId: res.body.id, eventId: event.id });
    assert.equal(audit[0]!.actor_id, `member:${m.memberId}`);
    assert.ok(audit[0]!.request_id, "the entry names the request");
    assert.deepEqual(audit[0]!.after, {
      eventId: event.id,
      memberId: m.memberId,
      guests: 0,
      status: "confirmed",
      waitlistPosition: null,
    });
    // The event is full now: the next member's entry and message carry the waitlist position.
    const second = await tokenMember(runtime);
    const waiting = await apiPost(baseUrl, second.token, `/api/v1/events/${event.id}/registrations`, {
      guests: ["Ann"],
    });
    assert.equal(waiting.body.waitlistPosition, 1);
    const entry = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", waiting.body.id as string)
      .executeTakeFirstOrThrow();
    assert.equal(entry.action, "registration.waitlisted");
    assert.deepEqual(entry.after, {
      eventId: event.id,
      memberId: second.memberId,
      guests: 1,
      status: "waitlisted",
      waitlistPosition: 1,
    });
    const message = await db
      .selectFrom("outbox")
      .selectAll()
      .where("audit_id", "=", entry.id)
      .executeTakeFirstOrThrow();
    assert.equal(message.topic, "registration.waitlisted");
    assert.match(message.body ?? "", /on the waitlist at position 1\./);
    assert.match(message.body ?? "", new RegExp(`^Hello ${second.name},`));
  });

  test("an event edited between the member's read and the lock: the message says what the event says now", async () => {
    const { runtime } = t.get();
    const event = await publishedEvent(runtime, { capacity: 5, title: "Old title" });
    const m = await tokenMember(runtime);
    const db = runtime.database.db;
    // Read as registering would, then the event changes before the statement runs.
    const before = await registrationContext(db, event.id, m.memberId);
    await sql`UPDATE events SET title = 'New title', version = version + 1 WHERE id = ${event.id}`.execute(
      db,
    );
    const placed = await db.transaction().execute((trx) =>
      register(trx, {
        registrationId: randomUUID(),
        eventId: event.id,
        memberId: m.memberId,
        guests: [],
        eventVersion: before!.version,
        audit: {
          effect: "write",
          sealLock: true,
          actorType: "member",
          actorId: `member:${m.memberId}`,
          requestId: null,
          after: {},
        },
        confirmed: { topic: "registration.confirmed", subject: before!.title },
        waitlisted: { topic: "registration.waitlisted", subject: "", bodyBefore: "", bodyAfter: "" },
      }),
    );
    assert.equal(placed.outcome, "stale", "a stale read writes nothing");
    assert.equal(
      await db.selectFrom("registrations").where("event_id", "=", event.id).select("id").executeTakeFirst(),
      undefined,
    );
    // Through the action, the stale read is retried under the lock, so the message has the new title.
    const res = await runAction(runtime.actionEnv(memberActorOf(m)), registerForEvent, {
      eventId: event.id,
      timeZone: "UTC",
    });
    const message = await db
      .selectFrom("outbox")
      .select("subject")
      .where(sql`payload->>'registrationId'`, "=", res.id)
      .executeTakeFirstOrThrow();
    assert.match(message.subject ?? "", /New title/);
  });

  test("members-only and draft events are 404 to those who may not see them", async () => {
    const { runtime, baseUrl } = t.get();
    const hidden = await publishedEvent(runtime, { audience: "members" });
    const draft = await publishedEvent(runtime, { audience: "public", status: "draft" });
    const open = await publishedEvent(runtime, { audience: "public", title: "Open day" });
    for (const path of [
      `/events/${hidden.id}`,
      `/api/v1/events/${hidden.id}`,
      `/events/${draft.id}`,
      `/api/v1/events/${draft.id}`,
    ]) {
      assert.equal((await fetch(baseUrl + path)).status, 404, path);
    }
    assert.equal((await fetch(`${baseUrl}/events/${open.id}`)).status, 200);
    const list = (await (await fetch(`${baseUrl}/api/v1/events`)).json()) as { events: { id: string }[] };
    const ids = list.events.map((e) => e.id);
    assert.ok(ids.includes(open.id));
    assert.ok(!ids.includes(hidden.id) && !ids.includes(draft.id));
  });
});

forEachEngine("a deleted member's registrations", (engine) => {
  const t = suiteApp(engine);

  test("deleting a member gives up their places at open events to the next in line; history stays; the checks pass", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    const [leaving, next, after, other] = [
      await tokenMember(runtime),
      await tokenMember(runtime),
      await tokenMember(runtime),
      await tokenMember(runtime),
    ];
    const register = async (m: { token: string }, eventId: string) =>
      (await apiPost(baseUrl, m.token, `/api/v1/events/${eventId}/registrations`, {})).body.id as string;
    const full = await publishedEvent(runtime, { capacity: 1, title: "Full" });
    const seat = await register(leaving, full.id);
    const nextInLine = await register(next, full.id);
    const thenAfter = await register(after, full.id);
    const queued = await publishedEvent(runtime, { capacity: 1, title: "Queued" });
    await register(other, queued.id);
    const place = await register(leaving, queued.id);
    const past = await publishedEvent(runtime, { capacity: 5, title: "Past" });
    const attended = await register(leaving, past.id);
    await sql`UPDATE events SET status = 'completed' WHERE id = ${past.id}`.execute(db);

    const res = await bearerJson(baseUrl, admin.token, "POST", `/api/v1/members/${leaving.memberId}/delete`, {
      reason: "asked to be removed",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const status = async (id: string) =>
      db
        .selectFrom("registrations")
        .select(["status", "waitlist_position"])
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
    assert.deepEqual(await status(seat), { status: "cancelled", waitlist_position: null });
    assert.deepEqual(await status(nextInLine), { status: "confirmed", waitlist_position: null }, "promoted");
    assert.deepEqual(await status(thenAfter), { status: "waitlisted", waitlist_position: 1 });
    assert.deepEqual(await status(place), { status: "cancelled", waitlist_position: null });
    assert.deepEqual(
      await status(attended),
      { status: "confirmed", waitlist_position: null },
      "history stays",
    );
    const entry = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member.deleted")
      .where("subject_id", "=", leaving.memberId)
      .executeTakeFirstOrThrow();
    const recorded = entry.after as { cancelledRegistrations: string[]; promoted: string[] };
    assert.deepEqual([...recorded.cancelledRegistrations].sort(), [seat, place].sort());
    assert.deepEqual(recorded.promoted, [nextInLine]);
    const promotion = await db.selectFrom("outbox").selectAll().where("audit_id", "=", entry.id).execute();
    assert.deepEqual(
      promotion.map((m) => [m.topic, m.recipient]),
      [["registration.promoted", next.email]],
    );
    const report = await runInvariantChecks(runtime.database, "system:test");
    assert.deepEqual(
      report.checks.filter((c) => c.violations > 0 || c.error).map((c) => c.id),
      [],
    );
  });
});

postgresOnly("registration racing a member's deletion", () => {
  const t = suiteApp("postgres");

  test("[G02] a registration that meets a deletion in progress waits for it and is refused: a deleted member holds no place", async () => {
    const { runtime } = t.get();
    const db = runtime.database.db;
    const m = await tokenMember(runtime);
    const event = await publishedEvent(runtime, { capacity: 5 });
    // The deletion's update of the member row is done, its commit not yet.
    let updated!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => (updated = r));
    const gate = new Promise<void>((r) => (release = r));
    const deletion = db.transaction().execute(async (trx) => {
      await sql`UPDATE members SET deleted_at = now() WHERE id = ${m.memberId}`.execute(trx);
      updated();
      await gate;
    });
    await inside;
    let settled = false;
    const registering = runAction(runtime.actionEnv(memberActorOf(m)), registerForEvent, {
      eventId: event.id,
      timeZone: "UTC",
    }).then(
      () => {
        settled = true;
        return undefined;
      },
      // Caught at once: the refusal arrives while the test still awaits the deletion, and a rejection
      // left unhandled until then fails the test on its own.
      (error: { code?: string }) => {
        settled = true;
        return error;
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, "the registration waits for the deletion to finish");
    release();
    await deletion;
    assert.equal((await registering)?.code, "not_found");
    const places = await db
      .selectFrom("registrations")
      .select("id")
      .where("member_id", "=", m.memberId)
      .where("status", "in", ["confirmed", "waitlisted"])
      .execute();
    assert.deepEqual(places, []);
  });
});

forEachEngine("idempotency keys", (engine) => {
  const t = suiteApp(engine);

  test("[G02] the same registration sent 20 times with one key: one registration, 20 identical responses", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 5 });
    const m = await tokenMember(runtime);
    const responses = [];
    for (let i = 0; i < 20; i++) {
      responses.push(
        await apiPost(
          baseUrl,
          m.token,
          `/api/v1/events/${event.id}/registrations`,
          {},
          { "idempotency-key": "reg-1" },
        ),
      );
    }
    for (const r of responses) {
      assert.equal(r.status, 201);
      assert.deepEqual(r.body, responses[0]!.body);
    }
    assert.equal(responses.filter((r) => r.headers.get("idempotent-replayed") === "true").length, 19);
    const rows = await runtime.database.db
      .selectFrom("registrations")
      .select("id")
      .where("event_id", "=", event.id)
      .execute();
    assert.equal(rows.length, 1);
    const differentBody = await apiPost(
      baseUrl,
      m.token,
      `/api/v1/events/${event.id}/registrations`,
      { guests: ["X"] },
      { "idempotency-key": "reg-1" },
    );
    assert.equal(differentBody.status, 422);
    assert.equal((differentBody.body.error as { code: string }).code, "idempotency_key_reused");
  });

  test("[G02] 20 concurrent sends with one key: exactly one is processed, the rest get its response or 409", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 5 });
    const m = await tokenMember(runtime);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        apiPost(
          baseUrl,
          m.token,
          `/api/v1/events/${event.id}/registrations`,
          {},
          { "idempotency-key": "burst" },
        ),
      ),
    );
    const created = responses.filter((r) => r.status === 201);
    assert.ok(created.length >= 1);
    for (const r of created) assert.deepEqual(r.body, created[0]!.body);
    for (const r of responses.filter((x) => x.status !== 201)) assert.equal(r.status, 409);
    const rows = await runtime.database.db
      .selectFrom("registrations")
      .select("id")
      .where("event_id", "=", event.id)
      .execute();
    assert.equal(rows.length, 1);
    const audits = await runtime.database.db
      .selectFrom("audit_log")
      .select("id")
      .where("subject_id", "=", rows[0]!.id)
      .execute();
    assert.equal(audits.length, 1);
  });

  test("keys are scoped to the caller: another member's same key is a separate request", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 5 });
    const a = await tokenMember(runtime);
    const b = await tokenMember(runtime);
    const ra = await apiPost(
      baseUrl,
      a.token,
      `/api/v1/events/${event.id}/registrations`,
      {},
      { "idempotency-key": "same" },
    );
    const rb = await apiPost(
      baseUrl,
      b.token,
      `/api/v1/events/${event.id}/registrations`,
      {},
      { "idempotency-key": "same" },
    );
    assert.equal(ra.status, 201);
    assert.equal(rb.status, 201);
    assert.notEqual(ra.body.id, rb.body.id);
  });
});
