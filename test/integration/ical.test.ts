import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { changeMemberStatus, deleteMember } from "../../src/domains/members/members.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

const uid = (id: string) => `UID:${id}@clubos`;
const unfold = (text: string) => text.replace(/\r\n /g, "");

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    headers: res.headers,
    text: await res.text(),
  };
}

forEachEngine("iCal feeds", (engine) => {
  const t = suiteApp(engine);

  test("[G08] the public feed lists published public events only: no members-only, no drafts", async () => {
    const { runtime, baseUrl } = t.get();
    const open = await publishedEvent(runtime, { audience: "public", title: "Open day, with cake" });
    const members = await publishedEvent(runtime, { audience: "members", title: "Members' AGM" });
    const draft = await publishedEvent(runtime, {
      audience: "public",
      status: "draft",
      title: "Secret plan",
    });
    const called = await publishedEvent(runtime, { audience: "public", title: "Rained off" });
    const chair = await tokenMember(runtime, ["events_chair"]);
    assert.equal((await apiPost(baseUrl, chair.token, `/api/v1/events/${called.id}/cancel`)).status, 200);
    for (const headers of [{}, { authorization: `Bearer ${chair.token}` }] as Record<string, string>[]) {
      const feed = await get(`${baseUrl}/events.ics`, headers);
      assert.equal(feed.status, 200);
      assert.equal(feed.type, "text/calendar; charset=utf-8");
      const text = unfold(feed.text);
      assert.ok(text.includes(uid(open.id)));
      assert.ok(text.includes("SUMMARY:Open day\\, with cake"));
      assert.ok(!text.includes(uid(members.id)), "members-only events stay out, whoever asks");
      assert.ok(!text.includes("Members' AGM"));
      assert.ok(!text.includes(uid(draft.id)), "drafts stay out");
      assert.ok(!text.includes("Secret plan"));
      const cancelled = text.slice(text.indexOf(uid(called.id)));
      const vevent = cancelled.slice(0, cancelled.indexOf("END:VEVENT"));
      assert.ok(vevent.includes("STATUS:CANCELLED\r\n"), "calendars learn of the cancellation");
    }
  });

  test("[G08] one event's .ics follows the event page: members-only is 404 anonymously, drafts 404 to members", async () => {
    const { runtime, baseUrl } = t.get();
    const members = await publishedEvent(runtime, { audience: "members", location: "Back room" });
    const draft = await publishedEvent(runtime, { audience: "public", status: "draft" });
    const open = await publishedEvent(runtime, { audience: "public" });
    const member = await tokenMember(runtime);
    const chair = await tokenMember(runtime, ["events_chair"]);
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    const anonymous = await get(`${baseUrl}/events/${members.id}.ics`);
    assert.equal(anonymous.status, 404);
    assert.ok(!anonymous.text.includes("Back room"));
    const signedIn = await get(`${baseUrl}/events/${members.id}.ics`, as(member.token));
    assert.equal(signedIn.status, 200);
    assert.ok(signedIn.text.includes(uid(members.id)));
    assert.equal(signedIn.headers.get("cache-control"), "private, no-store");
    assert.equal((await get(`${baseUrl}/events/${draft.id}.ics`, as(member.token))).status, 404);
    assert.equal((await get(`${baseUrl}/events/${draft.id}.ics`, as(chair.token))).status, 200);
    assert.equal((await get(`${baseUrl}/events/${open.id}.ics`)).status, 200);
    assert.equal((await get(`${baseUrl}/events/not-a-uuid.ics`)).status, 404);
  });

  test("[G08] the personal feed lists members-only events; the token is stored hashed; a rotated token stops working", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const members = await publishedEvent(runtime, { audience: "members" });
    const open = await publishedEvent(runtime, { audience: "public" });
    const draft = await publishedEvent(runtime, { audience: "members", status: "draft" });
    const m = await createMember(runtime);
    const client = new Client(baseUrl);
    await client.login(m.email, m.password);
    assert.match((await client.get("/members/me")).text, /Make my calendar address/);
    const make = async () => {
      const res = await client.postForm("/members/me/feed-token", {}, "/members/me");
      assert.equal(res.status, 200);
      const url = res.text.match(/value="(http:\/\/[^"]+\/members\/feed\/([0-9a-f]{64})\.ics)"/);
      assert.ok(url, "the page shows the address once");
      return { url: url[1]!, token: url[2]! };
    };
    const first = await make();
    const feed = await get(first.url);
    assert.equal(feed.status, 200);
    assert.ok(feed.text.includes(uid(members.id)), "members-only events are in the personal feed");
    assert.ok(feed.text.includes(uid(open.id)));
    assert.ok(!feed.text.includes(uid(draft.id)), "drafts never are");
    const stored = await db
      .selectFrom("member_feed_tokens")
      .selectAll()
      .where("member_id", "=", m.memberId)
      .execute();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.token_hash, createHash("sha256").update(first.token).digest("hex"));
    assert.ok(!JSON.stringify(stored).includes(first.token), "the token itself is not stored");
    const audit = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", m.memberId)
      .where("action", "=", "member.feed_token_rotated")
      .execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor_id, `member:${m.memberId}`);
    assert.ok(!JSON.stringify(audit).includes(first.token), "nor is it in the audit log");
    assert.match((await client.get("/members/me")).text, /Replace my calendar address/);

    const second = await make();
    assert.notEqual(second.token, first.token);
    assert.equal((await get(first.url)).status, 404, "the old address stops working at once");
    assert.equal((await get(second.url)).status, 200);
    assert.equal((await get(`${baseUrl}/members/feed/${"0".repeat(64)}.ics`)).status, 404);
    assert.equal((await get(`${baseUrl}/members/feed/short.ics`)).status, 404);

    const env = runtime.actionEnv(systemActor("test"));
    const status = (to: string) =>
      runAction(env, changeMemberStatus, { memberId: m.memberId, status: to, reason: "test" });
    await status("suspended");
    assert.equal((await get(second.url)).status, 404, "a suspended member's feed stops");
    await status("active");
    assert.equal((await get(second.url)).status, 200, "and works again when they are reactivated");
    await runAction(env, deleteMember, { memberId: m.memberId, reason: "test", timeZone: "UTC" });
    assert.equal((await get(second.url)).status, 404, "a deleted member's feed is gone");
  });
});
