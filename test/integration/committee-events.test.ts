import assert from "node:assert/strict";
import { test } from "node:test";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { type Actor, systemActor } from "../../src/core/actor.ts";
import { capabilitiesOf } from "../../src/core/capabilities.ts";
import { ClubError } from "../../src/core/errors.ts";
import { appointToCommittee, createCommittee } from "../../src/domains/committees/committees.actions.ts";
import { createEvent } from "../../src/domains/events/events.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

let serial = 0;

/** A new committee's id and (unique) name. */
async function committee(runtime: Runtime, name: string) {
  const row = await runAction(runtime.actionEnv(systemActor("test")), createCommittee, {
    name: `${name} ${++serial}`,
  });
  return { id: row.id as string, name: row.name as string };
}

/** Makes the member chair of the committee, for a current term unless dates are given. */
const appointChair = (runtime: Runtime, committeeId: string, memberId: string, term: object = {}) =>
  runAction(runtime.actionEnv(systemActor("test")), appointToCommittee, {
    committeeId,
    memberId,
    role: "chair",
    timeZone: runtime.config.timeZone,
    ...term,
  });

/** A valid event body for the JSON API. */
const apiEvent = (title: string, extra: Record<string, unknown> = {}) => ({
  title,
  startsAt: "2031-06-01T18:00:00.000Z",
  endsAt: "2031-06-01T21:00:00.000Z",
  capacity: 30,
  audience: "members",
  ...extra,
});

/** A valid create form; committeeId is added by each test. */
const formEvent = (title: string, committeeId: string) => ({
  title,
  description: "",
  location: "Clubhouse",
  startsAt: "2031-06-01T18:00",
  endsAt: "2031-06-01T21:00",
  capacity: "30",
  audience: "members",
  registrationOpensAt: "",
  registrationClosesAt: "",
  committeeId,
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

forEachEngine("committee chairs list and create their committees' events", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database.db;
  const eventsTitled = (title: string) =>
    db().selectFrom("events").select(["id", "committee_id"]).where("title", "=", title).execute();
  const createdAudit = (eventId: string) =>
    db()
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", eventId)
      .where("action", "=", "event.created")
      .executeTakeFirstOrThrow();

  /** Committees A and B, one event in each and one without a committee, and a current chair of A. */
  async function club() {
    const { runtime } = t.get();
    const a = await committee(runtime, "Sailing");
    const b = await committee(runtime, "Garden");
    const eventA = await publishedEvent(runtime, { title: `Regatta ${serial}`, committeeId: a.id });
    const eventB = await publishedEvent(runtime, { title: `Planting ${serial}`, committeeId: b.id });
    const eventNone = await publishedEvent(runtime, { title: `Quiz ${serial}` });
    return { a, b, eventA, eventB, eventNone };
  }

  test("a current chair creates a draft for their committee with the form; the picker offers only their committees", async () => {
    const { runtime, baseUrl } = t.get();
    const { a, b } = await club();
    const chair = await createMember(runtime, ["member"], "Form Chair");
    await appointChair(runtime, a.id, chair.memberId);
    const client = new Client(baseUrl);
    await client.login(chair.email, chair.password);

    const me = await client.get("/members/me");
    assert.match(me.text, /href="\/admin\/events"/, "a chair finds their committees' events from their page");
    const form = await client.get("/admin/events/new");
    assert.equal(form.status, 200);
    assert.match(form.text, /<label for="committeeId">/);
    assert.match(form.text, new RegExp(`<option value="${a.id}">${a.name}</option>`));
    assert.doesNotMatch(form.text, new RegExp(b.id), "another committee is not offered");
    assert.doesNotMatch(form.text, /No committee/, "a chair cannot create an event without a committee");

    const title = `Chair's form event ${serial}`;
    const created = await client.postForm("/admin/events", formEvent(title, a.id), "/admin/events/new");
    assert.equal(created.status, 303, created.text);
    const [row] = await eventsTitled(title);
    assert.equal(row?.committee_id, a.id);
    assert.equal(created.headers.get("location"), `/admin/events/${row!.id}?done=created`);
    assert.equal((await client.get(`/admin/events/${row!.id}`)).status, 200, "the chair manages it next");
    const audit = await createdAudit(row!.id);
    assert.equal(audit.actor_id, `member:${chair.memberId}`);
    assert.equal(
      (audit.after as { committeeId: string }).committeeId,
      a.id,
      "the audit records the committee",
    );

    // The form's values are not trusted: another committee, or none, is refused and writes nothing.
    for (const committeeId of [b.id, ""]) {
      const other = `Refused form event ${committeeId || "none"}`;
      const refused = await client.postForm(
        "/admin/events",
        formEvent(other, committeeId),
        "/admin/events/new",
      );
      assert.equal(refused.status, 403, `committee "${committeeId}"`);
      assert.equal((await eventsTitled(other)).length, 0);
    }
  });

  test("a current chair creates through the API for their committee only; an unknown committee looks like another one", async () => {
    const { runtime, baseUrl } = t.get();
    const { a, b } = await club();
    const chair = await tokenMember(runtime);
    await appointChair(runtime, a.id, chair.memberId);

    const key = { "idempotency-key": `chair-create-${serial}` };
    const ok = await apiPost(
      baseUrl,
      chair.token,
      "/api/v1/events",
      apiEvent("API chair event", { committeeId: a.id }),
      key,
    );
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.committeeId, a.id);
    const replay = await apiPost(
      baseUrl,
      chair.token,
      "/api/v1/events",
      apiEvent("API chair event", { committeeId: a.id }),
      key,
    );
    assert.equal(replay.status, 201);
    assert.equal(replay.body.id, ok.body.id, "an Idempotency-Key replay creates nothing new");
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.equal((await eventsTitled("API chair event")).length, 1);
    assert.equal(((await createdAudit(ok.body.id)).after as { committeeId: string }).committeeId, a.id);

    const unknown = "00000000-0000-4000-8000-000000000000";
    for (const committeeId of [b.id, null, undefined, unknown, "not-a-uuid"]) {
      const title = `API refused ${String(committeeId)}`;
      const res = await apiPost(baseUrl, chair.token, "/api/v1/events", apiEvent(title, { committeeId }));
      assert.equal(res.status, 403, `committee ${String(committeeId)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "forbidden", "the same answer whether the committee exists or not");
      assert.equal((await eventsTitled(title)).length, 0);
    }
  });

  test("[S-1] createEvent itself refuses a chair for another committee or none, whatever the route", async () => {
    const { runtime } = t.get();
    const { a, b } = await club();
    const chair = await tokenMember(runtime);
    await appointChair(runtime, a.id, chair.memberId);
    const actor: Actor = {
      type: "member",
      memberId: chair.memberId,
      name: "chair",
      capabilities: new Set(capabilitiesOf(["member"])),
    };
    const env = runtime.actionEnv(actor);
    const input = { ...apiEvent("Direct action event"), audience: "members" as const };
    for (const committeeId of [b.id, null]) {
      await assert.rejects(
        runAction(env, createEvent, { ...input, committeeId }),
        (e: unknown) => e instanceof ClubError && e.code === "forbidden" && e.status === 403,
        `committee ${committeeId}`,
      );
    }
    assert.equal((await eventsTitled("Direct action event")).length, 0);
    const ok = await runAction(env, createEvent, { ...input, committeeId: a.id });
    assert.equal(ok.committee_id, a.id);
  });

  test("a chair's /admin/events lists their committee's events with its name and tallied seats, and no others", async () => {
    const { runtime, baseUrl } = t.get();
    const { a, eventA, eventB, eventNone } = await club();
    const chair = await tokenMember(runtime);
    await appointChair(runtime, a.id, chair.memberId);
    const attendee = await tokenMember(runtime);
    const reg = await apiPost(baseUrl, attendee.token, `/api/v1/events/${eventA.id}/registrations`, {
      guests: ["Guest"],
    });
    assert.equal(reg.status, 201);

    const res = await fetch(`${baseUrl}/admin/events`, { headers: bearer(chair.token) });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, new RegExp(`href="/admin/events/${eventA.id}"`));
    assert.match(html, new RegExp(a.name));
    assert.match(html, /2 of 10/, "seats come from the tally: a member and a guest");
    assert.doesNotMatch(html, new RegExp(eventB.id), "another committee's event is not listed");
    assert.doesNotMatch(html, new RegExp(eventNone.id), "an event without a committee is not listed");
  });

  test("[G03] a plain member and a chair whose term ended get 403 on the list, the form and both creates", async () => {
    const { runtime, baseUrl } = t.get();
    const { a } = await club();
    const plain = await tokenMember(runtime);
    const former = await tokenMember(runtime);
    await appointChair(runtime, a.id, former.memberId, { startsAt: "2020-01-01", endsAt: "2020-12-31" });
    for (const who of [plain, former]) {
      for (const path of ["/admin/events", "/admin/events/new"]) {
        const res = await fetch(baseUrl + path, { headers: bearer(who.token) });
        assert.equal(res.status, 403, path);
      }
      const title = `Not allowed ${who.memberId}`;
      const form = await fetch(`${baseUrl}/admin/events`, {
        method: "POST",
        headers: { ...bearer(who.token), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(formEvent(title, a.id)).toString(),
      });
      assert.equal(form.status, 403, "the form create");
      const api = await apiPost(baseUrl, who.token, "/api/v1/events", apiEvent(title, { committeeId: a.id }));
      assert.equal(api.status, 403, "the API create");
      assert.equal((await eventsTitled(title)).length, 0, "nothing is created");
    }
    const me = await fetch(`${baseUrl}/members/me`, { headers: bearer(plain.token) });
    assert.doesNotMatch(await me.text(), /href="\/admin\/events"/, "no link for those who chair nothing");
  });

  test("events:manage sees every event and creates with any committee or none; an unknown committee is a 422", async () => {
    const { runtime, baseUrl } = t.get();
    const { a, b, eventA, eventB, eventNone } = await club();
    const manager = await tokenMember(runtime, ["member", "events_chair"]);

    const list = await (await fetch(`${baseUrl}/admin/events`, { headers: bearer(manager.token) })).text();
    for (const e of [eventA, eventB, eventNone]) assert.match(list, new RegExp(e.id));
    const form = await (
      await fetch(`${baseUrl}/admin/events/new`, { headers: bearer(manager.token) })
    ).text();
    assert.match(form, /<option value(="")?>No committee<\/option>/, '"No committee" submits an empty value');
    for (const c of [a, b]) assert.match(form, new RegExp(`<option value="${c.id}">`));

    const none = await apiPost(baseUrl, manager.token, "/api/v1/events", apiEvent("Managed, no committee"));
    assert.equal(none.status, 201, JSON.stringify(none.body));
    assert.equal(none.body.committeeId, null);
    assert.equal(((await createdAudit(none.body.id)).after as { committeeId: null }).committeeId, null);
    const forB = await apiPost(
      baseUrl,
      manager.token,
      "/api/v1/events",
      apiEvent("Managed, for B", { committeeId: b.id }),
    );
    assert.equal(forB.status, 201);
    assert.equal(forB.body.committeeId, b.id);

    const viaForm = await fetch(`${baseUrl}/admin/events`, {
      method: "POST",
      headers: { ...bearer(manager.token), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(formEvent("Managed form event", a.id)).toString(),
      redirect: "manual",
    });
    assert.equal(viaForm.status, 303);
    assert.equal((await eventsTitled("Managed form event"))[0]?.committee_id, a.id);

    for (const committeeId of ["00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      const res = await apiPost(
        baseUrl,
        manager.token,
        "/api/v1/events",
        apiEvent("Bad committee", { committeeId }),
      );
      assert.equal(res.status, 422, committeeId);
      assert.equal(res.body.error.code, "unknown_committee");
      assert.match(res.body.error.message, /no such committee/);
    }
    assert.equal((await eventsTitled("Bad committee")).length, 0);
  });

  test("the OpenAPI document lists committeeId on event creation", async () => {
    const doc = (await (await fetch(`${t.get().baseUrl}/api/v1/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    const schema = doc.paths["/api/v1/events"]!.post!.requestBody.content["application/json"]!.schema as {
      properties: Record<string, { type: string[] }>;
    };
    assert.deepEqual(schema.properties.committeeId?.type, ["string", "null"]);
  });
});
