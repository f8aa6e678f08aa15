import assert from "node:assert/strict";
import { test } from "node:test";
import { acceptsAnnouncements } from "../../src/domains/members/members.repository.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { bearerJson, Client } from "../helpers/http.ts";
import { assertAuditAttributed, loggedIn } from "../helpers/identity.ts";

/* A member's own email preference: announcements on or off on "My details", stored on the member and
 * read by acceptsAnnouncements; mail about their own registrations is sent whatever they choose. */

const checkbox = (html: string) => html.match(/<input[^>]*name="announcements"[^>]*>/)?.[0] ?? "";

forEachEngine("email preferences", (engine) => {
  const t = suiteApp(engine);

  test("a member turns announcements off and on again from My details; each change is audited", async () => {
    const { member, client } = await loggedIn(t, []);
    const db = t.get().runtime.database.db;
    assert.equal(await acceptsAnnouncements(db, member.memberId), true, "on until the member says otherwise");
    const page = await client.get("/members/me");
    assert.match(checkbox(page.text), /checked/);
    assert.match(page.text, /always sent/);

    const off = await client.postForm("/members/me/email-preferences", {}, "/members/me");
    assert.equal(off.status, 303);
    assert.equal(off.headers.get("location"), "/members/me?done=email");
    assert.equal(await acceptsAnnouncements(db, member.memberId), false);
    const after = await client.get("/members/me?done=email");
    assert.doesNotMatch(checkbox(after.text), /checked/);
    assert.match(after.text, /Your email preferences were saved/);

    const on = await client.postForm("/members/me/email-preferences", { announcements: "1" }, "/members/me");
    assert.equal(on.status, 303);
    assert.equal(await acceptsAnnouncements(db, member.memberId), true);

    const entries = await db
      .selectFrom("audit_log")
      .select(["actor_id", "before", "after"])
      .where("action", "=", "member.email_preferences_changed")
      .where("subject_id", "=", member.memberId)
      .orderBy("seq")
      .execute();
    assert.deepEqual(
      entries.map((e) => [e.actor_id, e.before, e.after]),
      [
        [`member:${member.memberId}`, { announcements: true }, { announcements: false }],
        [`member:${member.memberId}`, { announcements: false }, { announcements: true }],
      ],
    );
  });

  test("transactional mail is sent whatever the choice; the API shows the choice", async () => {
    const { runtime, baseUrl } = t.get();
    const member = await tokenMember(runtime, []);
    await runtime.database.db
      .updateTable("members")
      .set({ email_announcements: false })
      .where("id", "=", member.memberId)
      .execute();
    const own = await bearerJson(baseUrl, member.token, "GET", "/api/v1/members/me");
    assert.equal(own.body.emailAnnouncements, false);
    const event = await publishedEvent(runtime);
    assert.equal(
      (await apiPost(baseUrl, member.token, `/api/v1/events/${event.id}/registrations`)).status,
      201,
    );
    const mail = await runtime.database.db
      .selectFrom("outbox")
      .select("topic")
      .where("recipient", "=", member.email)
      .execute();
    assert.deepEqual(
      mail.map((m) => m.topic),
      ["registration.confirmed"],
      "the confirmation is written although announcements are off",
    );
  });

  test("a visitor cannot change a preference; an unknown member accepts no announcements", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const res = await anonymous.request("POST", "/members/me/email-preferences", { form: {} });
    assert.ok([401, 403].includes(res.status), `a visitor is refused (${res.status})`);
    assert.equal(await acceptsAnnouncements(t.get().runtime.database.db, "not-a-uuid"), false);
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});
