import assert from "node:assert/strict";
import { test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import type { Actor } from "../../src/core/actor.ts";
import { capabilitiesOf } from "../../src/core/capabilities.ts";
import { registerForEvent } from "../../src/domains/events/events.actions.ts";
import { EventWithSeats } from "../../src/domains/events/events.schemas.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { publishedEvent } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn } from "../helpers/identity.ts";

const asMember = (memberId: string): Actor => ({
  type: "member",
  memberId,
  name: "Page Member",
  capabilities: new Set(capabilitiesOf(["member"])),
});

// The event page reads the event, its seat counts and the viewer's own registration in one query: each
// viewer must see their own registration and nobody else's, and hidden events stay 404.
forEachEngine("the event page", (engine) => {
  const t = suiteApp(engine);
  const register = (eventId: string, memberId: string, guestNames: string[] = []) =>
    runAction(t.get().runtime.actionEnv(asMember(memberId)), registerForEvent, {
      eventId,
      guestNames,
      timeZone: "UTC",
    });

  test("shows the seat counts, and each member their own registration only", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 2, audience: "public" });
    const confirmed = await loggedIn(t);
    const waiting = await loggedIn(t);
    const neither = await loggedIn(t);
    await register(event.id, confirmed.member.memberId, ["Grace"]);
    await register(event.id, waiting.member.memberId);
    const page = async (client: Client) => {
      const res = await client.get(`/events/${event.id}`);
      assert.equal(res.status, 200);
      return res.text;
    };
    const anonymous = await page(new Client(baseUrl));
    assert.match(anonymous, /0 of 2 places free, 1 on the waitlist\./);
    assert.match(anonymous, /Log in<\/a> to register\./);
    assert.doesNotMatch(anonymous, /You have a confirmed place|You are on the waitlist|Guests: Grace/);

    const mine = await page(confirmed.client);
    assert.match(mine, /You have a confirmed place\. Guests: Grace\./);
    assert.match(mine, /action="\/registrations\/[0-9a-f-]{36}\/cancel"/);

    const queued = await page(waiting.client);
    assert.match(queued, /You are on the waitlist at position 1\./);
    assert.doesNotMatch(queued, /confirmed place|Guests: Grace/, "not the other member's registration");

    const other = await page(neither.client);
    assert.doesNotMatch(other, /You have a confirmed place|You are on the waitlist|Guests: Grace/);
    assert.match(other, /Join the waitlist/, "full with a waitlist: the form offers the waitlist");
  });

  test("members-only events are 404 to visitors, drafts 404 to members; the JSON API answers the same", async () => {
    const { runtime, baseUrl } = t.get();
    const membersOnly = await publishedEvent(runtime, { audience: "members" });
    const draft = await publishedEvent(runtime, { audience: "public", status: "draft" });
    const { client } = await loggedIn(t);
    assert.equal((await fetch(`${baseUrl}/events/${membersOnly.id}`)).status, 404);
    assert.equal((await fetch(`${baseUrl}/api/v1/events/${membersOnly.id}`)).status, 404);
    assert.equal((await client.get(`/events/${membersOnly.id}`)).status, 200);
    assert.equal((await client.get(`/events/${draft.id}`)).status, 404);
    assert.equal((await client.get(`/api/v1/events/${draft.id}`)).status, 404);
    assert.equal((await fetch(`${baseUrl}/events/not-a-uuid`)).status, 404);
  });

  test("the JSON API gives the event's columns and its counts, nothing of anyone's registration", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { capacity: 5, audience: "public" });
    const { member } = await loggedIn(t);
    await register(event.id, member.memberId, ["Ada"]);
    const body = (await (await fetch(`${baseUrl}/api/v1/events/${event.id}`)).json()) as Record<
      string,
      unknown
    >;
    // The presented event (camelCase, the contract in events.schemas.ts) and its counts, nothing more.
    assert.deepEqual(Object.keys(body).sort(), Object.keys(EventWithSeats.properties).sort());
    assert.equal(body.id, event.id);
    assert.equal(body.seats, 2);
    assert.equal(body.waiting, 0);
  });

  test("the event list shows visitors public events, members also members-only ones, nobody drafts", async () => {
    const { runtime, baseUrl } = t.get();
    const open = await publishedEvent(runtime, { title: "List open night", audience: "public" });
    const members = await publishedEvent(runtime, { title: "List members night", audience: "members" });
    const draft = await publishedEvent(runtime, {
      title: "List draft night",
      audience: "public",
      status: "draft",
    });
    const { client } = await loggedIn(t);
    const anonymous = await new Client(baseUrl).get("/events");
    const member = await client.get("/events");
    assert.equal(anonymous.status, 200);
    assert.match(anonymous.text, new RegExp(`<a href="/events/${open.id}">List open night</a>`));
    assert.doesNotMatch(anonymous.text, new RegExp(`${members.id}|${draft.id}|List draft night`));
    assert.match(
      member.text,
      new RegExp(`<a href="/events/${members.id}">List members night</a> · [^<]* · members only`),
    );
    assert.doesNotMatch(member.text, new RegExp(`${draft.id}|List draft night`));
  });
});
