import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { routeTable } from "../../src/http/routes.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { bearerJson, Client } from "../helpers/http.ts";

const api = bearerJson;

const register = (baseUrl: string, token: string, eventId: string, guests: string[] = []) =>
  apiPost(baseUrl, token, `/api/v1/events/${eventId}/registrations`, { guests });

forEachEngine("event management", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database.db;
  const auditOf = (subjectId: string, action: string) =>
    db()
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", subjectId)
      .where("action", "=", action)
      .execute();
  const regs = async (eventId: string) =>
    new Map(
      (await db().selectFrom("registrations").selectAll().where("event_id", "=", eventId).execute()).map(
        (r) => [r.id, r],
      ),
    );

  test("a stale event edit is refused with 409 naming what changed, and nothing is written (W-4)", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const event = await publishedEvent(runtime);
    const path = `/api/v1/events/${event.id}`;
    assert.equal((await api(baseUrl, chair.token, "PATCH", path, { title: "No version" })).status, 428);
    const first = await api(
      baseUrl,
      chair.token,
      "PATCH",
      path,
      { title: "Quiz night" },
      { "if-match": '"v1"' },
    );
    assert.equal(first.status, 200);
    assert.equal(first.etag, '"v2"');
    const stale = await api(
      baseUrl,
      chair.token,
      "PATCH",
      path,
      { location: "Hall" },
      { "if-match": '"v1"' },
    );
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error.code, "conflict");
    assert.deepEqual(stale.body.error.details.changedFields, ["title"]);
    assert.match(stale.body.error.message, /\(title\)/);
    const row = await db()
      .selectFrom("events")
      .selectAll()
      .where("id", "=", event.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.location, "", "the stale change was not written");
    assert.equal(row.version, 2);
    assert.equal((await auditOf(event.id, "event.updated")).length, 1, "only the first edit is audited");
  });

  test("capacity cannot drop below the confirmed seats (INV-6)", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const event = await publishedEvent(runtime, { capacity: 5 });
    await register(baseUrl, (await tokenMember(runtime)).token, event.id, ["Guest"]);
    await register(baseUrl, (await tokenMember(runtime)).token, event.id);
    const path = `/api/v1/events/${event.id}`;
    const low = await api(baseUrl, chair.token, "PATCH", path, { capacity: 2 }, { "if-match": "1" });
    assert.equal(low.status, 409);
    assert.equal(low.body.error.code, "capacity_below_confirmed");
    assert.equal(low.body.error.details.confirmedSeats, 3);
    const row = await db()
      .selectFrom("events")
      .select(["capacity", "version"])
      .where("id", "=", event.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { capacity: 5, version: 1 });
    const exact = await api(baseUrl, chair.token, "PATCH", path, { capacity: 3 }, { "if-match": "1" });
    assert.equal(exact.status, 200, "down to exactly the confirmed seats is allowed");
    assert.equal(exact.body.capacity, 3);
  });

  test("raising capacity promotes the waitlist in order, never skipping the first in line", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const event = await publishedEvent(runtime, { capacity: 1 });
    const [a, b, c, d] = [
      await tokenMember(runtime),
      await tokenMember(runtime),
      await tokenMember(runtime),
      await tokenMember(runtime),
    ];
    await register(baseUrl, a.token, event.id);
    const rb = (await register(baseUrl, b.token, event.id)).body.id as string;
    const rc = (await register(baseUrl, c.token, event.id, ["Plus one"])).body.id as string;
    const rd = (await register(baseUrl, d.token, event.id)).body.id as string;
    const path = `/api/v1/events/${event.id}`;
    const three = await api(baseUrl, chair.token, "PATCH", path, { capacity: 3 }, { "if-match": "1" });
    assert.equal(three.status, 200);
    assert.deepEqual(three.body.promoted, [rb], "C needs two seats and is first after B, so D waits too");
    let rows = await regs(event.id);
    assert.equal(rows.get(rb)?.status, "confirmed");
    assert.equal(rows.get(rc)?.waitlist_position, 1, "positions stay dense");
    assert.equal(rows.get(rd)?.waitlist_position, 2);
    const five = await api(baseUrl, chair.token, "PATCH", path, { capacity: 5 }, { "if-match": "2" });
    assert.deepEqual(five.body.promoted, [rc, rd], "in waitlist order");
    rows = await regs(event.id);
    assert.equal(rows.get(rc)?.status, "confirmed");
    assert.equal(rows.get(rd)?.status, "confirmed");
    const [audit] = (await auditOf(event.id, "event.updated")).filter(
      (e) => (e.after as { version?: number }).version === 3,
    );
    const mails = await db().selectFrom("outbox").selectAll().where("audit_id", "=", audit!.id).execute();
    assert.deepEqual(
      mails.map((m) => m.topic),
      ["registration.promoted", "registration.promoted"],
    );
    assert.deepEqual(new Set(mails.map((m) => m.recipient)), new Set([c.email, d.email]));
  });

  test("[G02] cancelling an event cancels every registration with one email each, all in one transaction", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const event = await publishedEvent(runtime, { capacity: 2 });
    const people = [await tokenMember(runtime), await tokenMember(runtime), await tokenMember(runtime)];
    for (const p of people) await register(baseUrl, p.token, event.id);
    const res = await apiPost(baseUrl, chair.token, `/api/v1/events/${event.id}/cancel`, {
      reason: "Storm warning",
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "cancelled");
    assert.equal((res.body.cancelledRegistrations as string[]).length, 3, "confirmed and waitlisted alike");
    for (const r of (await regs(event.id)).values()) {
      assert.equal(r.status, "cancelled");
      assert.equal(r.waitlist_position, null);
    }
    const [audit] = await auditOf(event.id, "event.cancelled");
    assert.equal(audit!.actor_id, `member:${chair.memberId}`);
    const mails = await db().selectFrom("outbox").selectAll().where("audit_id", "=", audit!.id).execute();
    assert.equal(mails.length, 3);
    assert.deepEqual(new Set(mails.map((m) => m.recipient)), new Set(people.map((p) => p.email)));
    for (const m of mails) {
      assert.equal(m.topic, "event.cancelled");
      assert.match(m.body ?? "", /Reason: Storm warning/);
    }
    assert.equal((await apiPost(baseUrl, chair.token, `/api/v1/events/${event.id}/cancel`)).status, 409);

    // If one email cannot be written, nothing is: the event and every registration stay as they were.
    const second = await publishedEvent(runtime, { capacity: 2 });
    const [x, y] = [await tokenMember(runtime), await tokenMember(runtime)];
    await register(baseUrl, x.token, second.id);
    await register(baseUrl, y.token, second.id);
    await sql
      .raw(`CREATE FUNCTION test_refuse_mail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.recipient = '${y.email}' THEN RAISE EXCEPTION 'injected outbox failure'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER test_refuse_mail BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION test_refuse_mail();`)
      .execute(db());
    try {
      const failed = await apiPost(baseUrl, chair.token, `/api/v1/events/${second.id}/cancel`);
      assert.equal(failed.status, 500);
    } finally {
      await sql
        .raw("DROP TRIGGER test_refuse_mail ON outbox; DROP FUNCTION test_refuse_mail();")
        .execute(db());
    }
    const after = await db()
      .selectFrom("events")
      .select(["status", "version"])
      .where("id", "=", second.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(after, { status: "published", version: 1 });
    for (const r of (await regs(second.id)).values()) assert.equal(r.status, "confirmed");
    assert.equal((await auditOf(second.id, "event.cancelled")).length, 0);
    const mailsTo = await db()
      .selectFrom("outbox")
      .select("id")
      .where("recipient", "=", x.email)
      .where("topic", "=", "event.cancelled")
      .execute();
    assert.equal(mailsTo.length, 0, "the first member's email was rolled back with the rest");
  });

  test("check-in and no-show apply to confirmed registrations only and are idempotent", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const event = await publishedEvent(runtime, { capacity: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await register(baseUrl, (await tokenMember(runtime)).token, event.id)).body.id as string);
    const [a, c, waiting] = ids as [string, string, string];
    const checkIn = (id: string) => apiPost(baseUrl, chair.token, `/api/v1/registrations/${id}/check-in`);
    const noShow = (id: string) => apiPost(baseUrl, chair.token, `/api/v1/registrations/${id}/no-show`);
    const first = await checkIn(a);
    assert.equal(first.status, 200);
    assert.ok(first.body.checkedInAt);
    const again = await checkIn(a);
    assert.equal(again.status, 200);
    assert.equal(again.body.checkedInAt, first.body.checkedInAt, "the first arrival time stays");
    assert.equal(again.body.version, first.body.version, "nothing was written the second time");
    assert.equal((await auditOf(a, "registration.checked_in")).length, 1);
    const refused = await checkIn(waiting);
    assert.equal(refused.status, 409, "a waitlisted registration cannot be checked in");
    assert.equal((await regs(event.id)).get(waiting)?.checked_in_at, null);
    assert.equal((await noShow(a)).status, 409, "an arrival on record is not overwritten by a no-show");
    const absent = await noShow(c);
    assert.equal(absent.body.noShow, true);
    assert.equal((await noShow(c)).body.version, absent.body.version, "a second no-show writes nothing");
    assert.equal((await auditOf(c, "registration.no_show")).length, 1);
    const late = await checkIn(c);
    assert.equal(late.body.noShow, false, "a late arrival clears the no-show");
    await apiPost(baseUrl, chair.token, `/api/v1/events/${event.id}/cancel`);
    assert.equal((await noShow(waiting)).status, 409, "a cancelled registration cannot be marked");
    const list = await api(baseUrl, chair.token, "GET", `/api/v1/events/${event.id}/registrations`);
    assert.equal(list.body.registrations.length, 3);
  });

  test("publish, complete and every other step is audited and follows the event's life", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const draft = await publishedEvent(runtime, { status: "draft" });
    const publish = await apiPost(
      baseUrl,
      chair.token,
      `/api/v1/events/${draft.id}/publish`,
      {},
      { "if-match": '"v1"' },
    );
    assert.equal(publish.status, 200);
    assert.equal(publish.body.status, "published");
    assert.equal((await apiPost(baseUrl, chair.token, `/api/v1/events/${draft.id}/publish`)).status, 409);
    assert.equal(
      (await apiPost(baseUrl, chair.token, `/api/v1/events/${draft.id}/complete`)).status,
      409,
      "not started yet",
    );
    const past = await publishedEvent(runtime, {
      startsAt: new Date(Date.now() - 7_200_000).toISOString(),
      endsAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    const done = await apiPost(baseUrl, chair.token, `/api/v1/events/${past.id}/complete`);
    assert.equal(done.body.status, "completed");
    const edit = await api(
      baseUrl,
      chair.token,
      "PATCH",
      `/api/v1/events/${past.id}`,
      { title: "Late" },
      { "if-match": "2" },
    );
    assert.equal(edit.status, 409, "a completed event is not edited");
    for (const [id, action] of [
      [draft.id, "event.published"],
      [past.id, "event.completed"],
    ] as const) {
      const [entry] = await auditOf(id, action);
      assert.equal(entry?.actor_id, `member:${chair.memberId}`, `${action} is attributed`);
    }
  });

  test("[G03] a plain member gets 403 on every admin event route, and nothing changes", async () => {
    const { runtime, baseUrl, app } = t.get();
    const member = await tokenMember(runtime);
    const event = await publishedEvent(runtime);
    const registration = (await register(baseUrl, member.token, event.id)).body.id as string;
    const admin = routeTable(app).filter(
      (r) =>
        /^\/admin\/(events|registrations)/.test(r.url) ||
        (r.url === "/api/v1/events/:id" && r.method === "PATCH") ||
        /^\/api\/v1\/events\/:id\/(publish|cancel|complete)$/.test(r.url) ||
        (r.url === "/api/v1/events/:id/registrations" && r.method === "GET") ||
        /^\/api\/v1\/registrations\/:id\/(check-in|no-show)$/.test(r.url),
    );
    assert.equal(admin.length, 17, admin.map((r) => `${r.method} ${r.url}`).join(", "));
    for (const r of admin) {
      const id = r.url.includes("registrations/:id") ? registration : event.id;
      const path = r.url.replace(":id", id);
      const json = r.url.startsWith("/api/");
      const res = await fetch(baseUrl + path, {
        method: r.method,
        headers: {
          authorization: `Bearer ${member.token}`,
          "if-match": '"v1"',
          ...(r.method === "GET"
            ? {}
            : { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" }),
        },
        body:
          r.method === "GET"
            ? undefined
            : json
              ? JSON.stringify(r.method === "PATCH" ? { title: "x" } : {})
              : "title=x&version=1",
      });
      assert.equal(res.status, 403, `${r.method} ${r.url}`);
      assert.equal(
        (await fetch(baseUrl + path, { method: r.method })).status,
        401,
        `${r.method} ${r.url} anonymously`,
      );
    }
    const row = await db()
      .selectFrom("events")
      .select(["status", "version", "title"])
      .where("id", "=", event.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: "published", version: 1, title: "Club night" });
  });

  test("a committee chair manages their committee's events and no others", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime); // a plain member by role
    const theirs = await publishedEvent(runtime);
    const other = await publishedEvent(runtime);
    const committee = await db()
      .insertInto("committees")
      .values({ name: `Social ${theirs.id}` })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db()
      .updateTable("events")
      .set({ committee_id: committee.id })
      .where("id", "=", theirs.id)
      .execute();
    await db()
      .insertInto("committee_memberships")
      .values({
        committee_id: committee.id,
        member_id: chair.memberId,
        role: "chair",
        granted_by: "system:test",
      })
      .execute();
    const mine = await api(
      baseUrl,
      chair.token,
      "PATCH",
      `/api/v1/events/${theirs.id}`,
      { capacity: 12 },
      { "if-match": "1" },
    );
    assert.equal(mine.status, 200);
    const page = await fetch(`${baseUrl}/admin/events/${theirs.id}`, {
      headers: { authorization: `Bearer ${chair.token}` },
    });
    assert.equal(page.status, 200);
    const not = await api(
      baseUrl,
      chair.token,
      "PATCH",
      `/api/v1/events/${other.id}`,
      { capacity: 12 },
      { "if-match": "1" },
    );
    assert.equal(not.status, 403);
  });

  test("the admin pages: create a draft in the club's time zone, edit with the version, stale form 409", async () => {
    const { runtime, baseUrl } = t.get();
    const m = await createMember(runtime, ["events_chair"]);
    const client = new Client(baseUrl);
    await client.login(m.email, m.password);
    assert.match((await client.get("/admin")).text, /href="\/admin\/events"/);
    const draft = {
      _form: "f1",
      title: "Spring fair",
      description: "**Stalls** <script>alert(1)</script>",
      location: "Green",
      startsAt: "2031-05-01T19:30",
      endsAt: "2031-05-01T22:00",
      capacity: "40",
      audience: "public",
      registrationOpensAt: "",
      registrationClosesAt: "",
    };
    const created = await client.postForm("/admin/events", draft, "/admin/events/new");
    assert.equal(created.status, 303);
    const location = created.headers.get("location")!;
    const id = location.match(/\/admin\/events\/([0-9a-f-]{36})/)![1]!;
    const replay = await client.postForm("/admin/events", draft, "/admin/events/new");
    assert.equal(replay.headers.get("location"), location, "a double submit creates one event");
    const row = await db().selectFrom("events").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    assert.equal(row.status, "draft");
    assert.equal(
      new Date(row.starts_at).toISOString(),
      "2031-05-01T19:30:00.000Z",
      "the test club's zone is UTC",
    );
    const view = await client.get(`/admin/events/${id}`);
    assert.match(view.text, /name="version" value="1"/);
    assert.match(view.text, /value="2031-05-01T19:30"/);
    const form = {
      title: "Spring fair!",
      description: row.description,
      location: "Green",
      startsAt: "2031-05-01T19:30",
      endsAt: "2031-05-01T22:00",
      capacity: "40",
      audience: "public",
    };
    assert.equal(
      (await client.postForm(`/admin/events/${id}`, { ...form, version: "1" }, `/admin/events/${id}`)).status,
      303,
    );
    const stale = await client.postForm(
      `/admin/events/${id}`,
      { ...form, location: "Barn", version: "1" },
      `/admin/events/${id}`,
    );
    assert.equal(stale.status, 409);
    assert.match(stale.text, /Nothing was saved/);
    assert.equal(
      (await client.postForm(`/admin/events/${id}/publish`, {}, `/admin/events/${id}`)).status,
      303,
    );
    // The description is Markdown on the public page; the script tag stays text.
    const pub = await fetch(`${baseUrl}/events/${id}`).then((r) => r.text());
    assert.match(pub, /<strong>Stalls<\/strong>/);
    assert.doesNotMatch(pub, /<script>alert/);
    assert.match(pub, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match((await client.get("/admin/events")).text, /Spring fair!/);
  });
});
