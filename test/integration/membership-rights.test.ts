import assert from "node:assert/strict";
import { test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { ROLES } from "../../src/core/capabilities.ts";
import { changeMemberStatus } from "../../src/domains/members/members.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { bearerJson, Client } from "../helpers/http.ts";

/* Membership gives a member's rights: a member whose status carries them (STATUSES_WITH_MEMBER_RIGHTS)
 * holds the MEMBER capabilities without any role grant, and loses them on the very next request once
 * the status changes. */

const MEMBER_CAPS = [...ROLES.member.capabilities].sort();

forEachEngine("membership rights", (engine) => {
  const t = suiteApp(engine);
  const operator = () => t.get().runtime.actionEnv(operatorActor("test"));
  const setStatus = (memberId: string, status: string) =>
    runAction(operator(), changeMemberStatus, { memberId, status, reason: "test" });
  const grants = async (memberId: string) =>
    (
      await t
        .get()
        .runtime.database.db.selectFrom("role_assignments")
        .select("id")
        .where("member_id", "=", memberId)
        .execute()
    ).length;
  const register = (token: string, eventId: string) =>
    apiPost(t.get().baseUrl, token, `/api/v1/events/${eventId}/registrations`, {});
  const me = async (token: string) =>
    ((await bearerJson(t.get().baseUrl, token, "GET", "/api/v1/me")).body.capabilities as string[]).sort();

  test("an active member with no role grant holds the member capabilities and can register", async () => {
    const { runtime } = t.get();
    const member = await tokenMember(runtime, []);
    assert.equal(await grants(member.memberId), 0, "no role assignment: only the status gives rights");
    assert.deepEqual(await me(member.token), MEMBER_CAPS);
    const event = await publishedEvent(runtime);
    const res = await register(member.token, event.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.status, "confirmed");
    const own = await bearerJson(t.get().baseUrl, member.token, "GET", "/api/v1/members/me");
    assert.equal(own.status, 200, "My details are reachable");
  });

  test("members-only events are for members with the rights: a suspended member sees them as missing", async () => {
    const { runtime, baseUrl } = t.get();
    const member = await tokenMember(runtime, []);
    const event = await publishedEvent(runtime, { title: "Members-only quiz night" });
    const listed = async () =>
      (
        (await bearerJson(baseUrl, member.token, "GET", "/api/v1/events")).body.events as { id: string }[]
      ).map((e) => e.id);
    assert.ok((await listed()).includes(event.id), "an active member sees the members-only event");
    assert.equal((await bearerJson(baseUrl, member.token, "GET", `/api/v1/events/${event.id}`)).status, 200);
    await setStatus(member.memberId, "suspended");
    assert.ok(!(await listed()).includes(event.id), "not listed to a suspended member");
    const hidden = await bearerJson(baseUrl, member.token, "GET", `/api/v1/events/${event.id}`);
    const missing = await bearerJson(
      baseUrl,
      member.token,
      "GET",
      "/api/v1/events/00000000-0000-4000-8000-000000000000",
    );
    assert.equal(hidden.status, 404, "the event is missing to them");
    assert.deepEqual(hidden.body, missing.body, "exactly like an event that does not exist");
  });

  test("lapsing takes the rights away on the next request; reactivating gives them back", async () => {
    const { runtime } = t.get();
    const member = await tokenMember(runtime, []);
    const event = await publishedEvent(runtime);
    const other = await publishedEvent(runtime);
    assert.equal((await register(member.token, event.id)).status, 201);
    await setStatus(member.memberId, "lapsed");
    const refused = await register(member.token, other.id);
    assert.equal(refused.status, 403, "a lapsed member cannot register, at once");
    assert.deepEqual(await me(member.token), []);
    await setStatus(member.memberId, "active");
    assert.equal((await register(member.token, other.id)).status, 201, "renewed: registers again");
  });

  test("a suspended member is refused registration, the directory and My details in a browser session", async () => {
    const { runtime, baseUrl } = t.get();
    const member = await createMember(runtime, []);
    const client = new Client(baseUrl);
    assert.equal((await client.login(member.email, member.password)).status, 303);
    assert.equal((await client.get("/directory")).status, 200, "active: the directory opens");
    assert.equal((await client.get("/members/me")).status, 200, "active: My details open");
    await setStatus(member.memberId, "suspended");
    assert.equal((await client.get("/directory")).status, 403);
    assert.equal((await client.get("/members/me")).status, 403);
    const event = await publishedEvent(runtime);
    const token = await tokenMember(runtime, []);
    await setStatus(token.memberId, "suspended");
    assert.equal((await register(token.token, event.id)).status, 403);
  });

  test("admin roles stay explicit grants: membership alone opens no admin page", async () => {
    const { runtime } = t.get();
    const member = await tokenMember(runtime, []);
    const caps = await me(member.token);
    assert.ok(!caps.includes("admin:access"));
    const list = await bearerJson(t.get().baseUrl, member.token, "GET", "/api/v1/members");
    assert.equal(list.status, 403);
  });

  test("a granted admin role counts only while the status carries the rights", async () => {
    const { runtime } = t.get();
    const chair = await tokenMember(runtime, ["membership_chair"]);
    assert.ok((await me(chair.token)).includes("members:read"));
    await setStatus(chair.memberId, "suspended");
    assert.deepEqual(await me(chair.token), []);
  });
});
