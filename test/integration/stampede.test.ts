import assert from "node:assert/strict";
import { test } from "node:test";
import { suiteApp } from "../helpers/app.ts";
import { postgresOnly } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";

postgresOnly("registration stampede", () => {
  const t = suiteApp("postgres");

  test("[G12] 400 members register at once for 50 seats: 50 confirmed, 350 waitlisted 1..350; 10 cancellations promote 10 in order", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const event = await publishedEvent(runtime, { capacity: 50 });
    const members = [];
    for (let i = 0; i < 400; i += 20)
      members.push(...(await Promise.all(Array.from({ length: 20 }, () => tokenMember(runtime)))));
    const responses = await Promise.all(
      members.map((m) =>
        apiPost(
          baseUrl,
          m.token,
          `/api/v1/events/${event.id}/registrations`,
          {},
          { "idempotency-key": `stampede-${m.memberId}` },
        ),
      ),
    );
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [201], "every registration is accepted");
    const rows = await db.selectFrom("registrations").selectAll().where("event_id", "=", event.id).execute();
    assert.equal(rows.length, 400);
    assert.equal(new Set(rows.map((r) => r.member_id)).size, 400, "zero duplicates");
    const confirmed = rows.filter((r) => r.status === "confirmed");
    const waitlisted = rows
      .filter((r) => r.status === "waitlisted")
      .sort((a, b) => a.waitlist_position! - b.waitlist_position!);
    assert.equal(confirmed.length, 50);
    assert.deepEqual(
      waitlisted.map((r) => r.waitlist_position),
      Array.from({ length: 350 }, (_, i) => i + 1),
    );
    const ids = rows.map((r) => r.id);
    const audits = await db
      .selectFrom("audit_log")
      .select(["subject_id", "id"])
      .where("subject_id", "in", ids)
      .execute();
    assert.equal(audits.length, 400, "exactly one audit entry per registration");
    assert.equal(new Set(audits.map((a) => a.subject_id)).size, 400);
    const outbox = await db
      .selectFrom("outbox")
      .select("audit_id")
      .where(
        "audit_id",
        "in",
        audits.map((a) => a.id),
      )
      .execute();
    assert.equal(outbox.length, 400, "exactly one message per registration");

    const tokenOf = new Map(members.map((m) => [m.memberId, m.token]));
    const leaving = confirmed.slice(0, 10);
    const cancels = await Promise.all(
      leaving.map((r) => apiPost(baseUrl, tokenOf.get(r.member_id)!, `/api/v1/registrations/${r.id}/cancel`)),
    );
    assert.deepEqual([...new Set(cancels.map((c) => c.status))], [200]);
    const promoted = cancels.flatMap((c) => c.body.promoted as string[]);
    assert.equal(promoted.length, 10, "exactly 10 promoted");
    assert.deepEqual(
      new Set(promoted),
      new Set(waitlisted.slice(0, 10).map((r) => r.id)),
      "the first 10 in line",
    );
    const after = await db.selectFrom("registrations").selectAll().where("event_id", "=", event.id).execute();
    assert.equal(after.filter((r) => r.status === "confirmed").length, 50);
    const stillWaiting = after
      .filter((r) => r.status === "waitlisted")
      .sort((a, b) => a.waitlist_position! - b.waitlist_position!);
    assert.deepEqual(
      stillWaiting.map((r) => r.waitlist_position),
      Array.from({ length: 340 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      stillWaiting.map((r) => r.id),
      waitlisted.slice(10).map((r) => r.id),
      "order is kept",
    );
  });
});
