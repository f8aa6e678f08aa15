import assert from "node:assert/strict";
import { test } from "node:test";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";

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
