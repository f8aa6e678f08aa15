import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { beforeEach, test } from "node:test";
import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { type Actor, systemActor } from "../../src/core/actor.ts";
import { ClubError } from "../../src/core/errors.ts";
import { hashSecret } from "../../src/core/secrets.ts";
import { MailService } from "../../src/domains/mail/mail.service.ts";
import { messageHeaders } from "../../src/domains/mail/mail.transport.ts";
import { sendAnnouncement } from "../../src/domains/members/announcements.actions.ts";
import { setOwnEmailPreferences } from "../../src/domains/members/email-preferences.actions.ts";
import { changeMemberStatus, deleteMember } from "../../src/domains/members/members.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";
import { startTestSmtp } from "../helpers/smtp.ts";

const PUBLIC_URL = "https://club.example.org";
const headOf = (raw: string) => raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ");
const headerIn = (raw: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(headOf(raw))?.[1]?.trim();

/** A tier of its own per test, so each audience holds only that test's members (fixture). */
async function freshTier(runtime: Runtime): Promise<string> {
  const key = `t${randomUUID().slice(0, 8)}`;
  await runtime.database.db
    .insertInto("membership_tiers")
    .values({ key, name: `Tier ${key}`, renewal_months: 12 })
    .execute();
  return key;
}

async function memberIn(runtime: Runtime, tier: string) {
  const m = await tokenMember(runtime, []);
  await runtime.database.db
    .updateTable("members")
    .set({ tier_key: tier })
    .where("id", "=", m.memberId)
    .execute();
  return m;
}

const asMember = (memberId: string): Actor => ({
  type: "member",
  memberId,
  name: "m",
  capabilities: new Set(["profile:write"]),
});

function mailService(url: string) {
  return new MailService({
    smtpUrl: url,
    from: "Riverside Rowing <club@mail.test>",
    timeoutMs: 2_000,
    maxAttempts: 3,
    retryBaseMs: 30,
    breakerFailures: 100,
    breakerResetMs: 60_000,
    leaseMs: 30_000,
    pollMs: 50,
  });
}

const announcementRows = (runtime: Runtime, id: string) =>
  runtime.database.db
    .selectFrom("outbox")
    .selectAll()
    .where(sql<string>`payload->>'announcementId'`, "=", id)
    .execute();

test("a stored message's own headers: only List-Unsubscribe and List-Unsubscribe-Post, each on one line", () => {
  assert.deepEqual(
    messageHeaders({
      "List-Unsubscribe": "<https://club.example.org/unsubscribe/t>\r\nBcc: attacker@example.org",
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      Bcc: "attacker@example.org",
      From: "someone@else.example",
    }),
    {
      "List-Unsubscribe": "<https://club.example.org/unsubscribe/t> Bcc: attacker@example.org",
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
  );
  assert.deepEqual(messageHeaders(null), {});
});

forEachEngine("announcements", (engine) => {
  const t = suiteApp(engine, {
    CLUBOS_PUBLIC_URL: PUBLIC_URL,
    CLUBOS_CLUB_NAME: "Riverside Rowing",
    CLUBOS_MAIL_WORKER: "0",
  });

  beforeEach(async () => {
    await sql`UPDATE outbox SET status = 'cancelled' WHERE status IN ('pending', 'held', 'dead')`.execute(
      t.get().runtime.database.db,
    );
  });

  test("[G11] an admin previews the count and sends; the audience minus opted-out and undeliverable get one message each with List-Unsubscribe (RFC 8058) at the public URL; one-click POST turns announcements off, idempotently", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const tier = await freshTier(runtime);
    const [a, b, optedOut, refused, lapsed, deleted] = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(() => memberIn(runtime, tier)),
    );
    const other = await memberIn(runtime, await freshTier(runtime));
    await runAction(runtime.actionEnv(asMember(optedOut!.memberId)), setOwnEmailPreferences, {
      announcements: false,
    });
    await db
      .insertInto("mail_undeliverable")
      .values({ address: refused!.email.toLowerCase(), reason: "550 no such user" })
      .execute();
    const sys = runtime.actionEnv(systemActor("test"));
    await runAction(sys, changeMemberStatus, { memberId: lapsed!.memberId, status: "lapsed", reason: "t" });
    await runAction(sys, deleteMember, { memberId: deleted!.memberId, reason: "t", timeZone: "UTC" });

    const admin = await createMember(runtime, ["full_admin"]);
    const client = new Client(baseUrl);
    assert.equal((await client.login(admin.email, admin.password)).status, 303);
    const draft = {
      subject: "Regatta on Saturday",
      body: "Come **row** with us.\n\n<script>alert(1)</script>",
      status: "active",
      tier,
      committee: "",
      event: "",
    };
    const preview = await client.get(`/admin/announcements/new?${new URLSearchParams(draft)}`);
    assert.equal(preview.status, 200);
    assert.match(preview.text, /data-recipients="2"/);
    assert.match(preview.text, /Skipped: 1 who turned announcements off,\s*(<!-- -->)?1 whose address/);
    assert.match(preview.text, /<strong>row<\/strong>/, "the Markdown is rendered");
    assert.doesNotMatch(preview.text, /<script>alert/, "raw HTML is not");
    assert.equal(
      await db
        .selectFrom("announcements")
        .select("id")
        .execute()
        .then((r) => r.length),
      0,
      "previewing sends nothing",
    );

    const csrf = /name="_csrf" value="([^"]*)"/.exec(
      preview.text.split('action="/admin/announcements"')[1]!,
    )![1]!;
    const form = /name="_form" value="([^"]*)"/.exec(preview.text)![1]!;
    const sent = await client.request("POST", "/admin/announcements", {
      form: { _csrf: csrf, _form: form, ...draft },
    });
    assert.equal(sent.status, 303, sent.text.slice(0, 500));
    assert.equal(sent.headers.get("location"), "/admin/announcements?done=sent");
    const again = await client.request("POST", "/admin/announcements", {
      form: { _csrf: csrf, _form: form, ...draft },
    });
    assert.equal(again.status, 303, "a second click of the same form replays, sending nothing more");

    const [announcement] = await db
      .selectFrom("announcements")
      .selectAll()
      .where("audience_label", "like", `%${tier}%`)
      .execute();
    assert.ok(announcement);
    assert.equal(announcement.queued, 2);
    assert.equal(announcement.skipped_opted_out, 1);
    assert.equal(announcement.skipped_undeliverable, 1);
    const rows = await announcementRows(runtime, announcement.id);
    assert.deepEqual(
      rows.map((r) => r.recipient).sort(),
      [a!.email, b!.email].sort(),
      "exactly the audience minus the skipped",
    );
    assert.ok(!rows.some((r) => r.recipient === other.email));
    const audit = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "announcement.sent")
      .where("subject_id", "=", announcement.id)
      .execute();
    assert.equal(audit.length, 1, "one audited action");
    assert.equal(audit[0]!.actor_id, `member:${admin.memberId}`);
    assert.equal(new Set(rows.map((r) => r.audit_id)).size, 1, "every message belongs to that one entry");

    const smtp = await startTestSmtp("accept");
    const mail = mailService(smtp.url);
    try {
      await mail.makeWorker(db).drain();
    } finally {
      mail.close();
      await smtp.close();
    }
    const got = smtp.received.filter((r) => r.subject === "Regatta on Saturday");
    assert.equal(got.length, 2);
    const toA = got.find((r) => r.to.includes(a!.email))!;
    assert.equal(headerIn(toA.raw, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    assert.match(toA.raw, /Content-Type: text\/plain/i, "a plain-text part");
    assert.match(toA.raw, /Content-Type: text\/html/i, "and the rendered Markdown");
    const listUnsubscribe = headerIn(toA.raw, "List-Unsubscribe") ?? "";
    const link = /^<(https:\/\/club\.example\.org\/unsubscribe\/[A-Za-z0-9_-]+)>$/.exec(listUnsubscribe)?.[1];
    assert.ok(link, `List-Unsubscribe names the public URL: ${listUnsubscribe}`);
    assert.ok(toA.raw.includes(link.split("/").pop()!.slice(0, 20)), "the link is in the body too");
    const token = link.split("/").pop()!;
    const stored = await db
      .selectFrom("unsubscribe_links")
      .selectAll()
      .where("member_id", "=", a!.memberId)
      .execute();
    assert.deepEqual(
      stored.map((s) => s.token_hash),
      [hashSecret(token)],
      "only the hash is kept",
    );

    const history = await client.get("/admin/announcements");
    assert.equal(history.status, 200);
    assert.match(history.text, /Regatta on Saturday/);
    assert.match(history.text, /2 of 2/);
    assert.match(history.text, /2 \(1 opted out, 1 undeliverable\)/);

    // The one-click POST a mail client makes (RFC 8058): no login, no cookie, no CSRF token.
    const path = new URL(link).pathname;
    const page = await fetch(baseUrl + path);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Stop announcements/);
    assert.equal(
      (
        await db
          .selectFrom("members")
          .select("email_announcements")
          .where("id", "=", a!.memberId)
          .executeTakeFirstOrThrow()
      ).email_announcements,
      true,
      "opening the link changes nothing",
    );
    const oneClick = () =>
      fetch(baseUrl + path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      });
    assert.equal((await oneClick()).status, 200);
    assert.equal((await oneClick()).status, 200, "a second POST answers the same");
    const after = await db
      .selectFrom("members")
      .select("email_announcements")
      .where("id", "=", a!.memberId)
      .executeTakeFirstOrThrow();
    assert.equal(after.email_announcements, false);
    const changes = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member.email_preferences_changed")
      .where("subject_id", "=", a!.memberId)
      .execute();
    assert.equal(changes.length, 1, "audited once; the repeat changed nothing");
    assert.equal(changes[0]!.actor_id, `member:${a!.memberId}`);
    assert.equal(
      (
        await fetch(`${baseUrl}/unsubscribe/${"x".repeat(43)}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "List-Unsubscribe=One-Click",
        })
      ).status,
      404,
      "a link that names nobody is a 404, like any missing thing",
    );

    // The next announcement to the same audience skips the member who unsubscribed.
    const next = await runAction(runtime.actionEnv(systemActor("test")), sendAnnouncement, {
      subject: "Next",
      body: "Again",
      audience: { status: "active", tierKey: tier },
      settings: { publicUrl: PUBLIC_URL, clubName: "Riverside Rowing" },
    });
    assert.equal(next.queued, 1);
    assert.equal(next.skipped_opted_out, 2);
  });

  test("two one-click POSTs at once turn announcements off with one audited change", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const tier = await freshTier(runtime);
    const m = await memberIn(runtime, tier);
    const sent = await runAction(runtime.actionEnv(systemActor("test")), sendAnnouncement, {
      subject: "Hi",
      body: "Hello",
      audience: { tierKey: tier },
      settings: { publicUrl: PUBLIC_URL, clubName: "Riverside Rowing" },
    });
    const [row] = await announcementRows(runtime, sent.id);
    const header = (row!.payload as { headers: Record<string, string> }).headers["List-Unsubscribe"]!;
    const path = new URL(header.slice(1, -1)).pathname;
    const post = () =>
      fetch(baseUrl + path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      });
    const answers = await Promise.all([post(), post(), post()]);
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200],
    );
    const changes = await db
      .selectFrom("audit_log")
      .select("id")
      .where("action", "=", "member.email_preferences_changed")
      .where("subject_id", "=", m.memberId)
      .execute();
    assert.equal(changes.length, 1);
  });

  test("audiences: event registrants and committee members; a committee or event that does not exist is refused, never widened", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const tier = await freshTier(runtime);
    const [x, y, z] = await Promise.all([1, 2, 3].map(() => memberIn(runtime, tier)));
    const event = await publishedEvent(runtime, { title: "Spring dinner" });
    for (const m of [x!, y!]) {
      await runAction(
        runtime.actionEnv(systemActor("test")),
        (await import("../../src/domains/identity/identity.actions.ts")).grantRole,
        { memberId: m.memberId, roleKey: "member", reason: "t" },
      );
      const r = await apiPost(baseUrl, m.token, `/api/v1/events/${event.id}/registrations`, {});
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const committee = await db
      .insertInto("committees")
      .values({ name: `Committee ${randomUUID()}` })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("committee_memberships")
      .values({
        committee_id: committee.id,
        member_id: z!.memberId,
        role: "member",
        granted_by: "system:test",
      })
      .execute();
    const env = runtime.actionEnv(systemActor("test"));
    const settings = { publicUrl: PUBLIC_URL, clubName: "Riverside Rowing" };
    const toEvent = await runAction(env, sendAnnouncement, {
      subject: "Dinner",
      body: "Menu",
      audience: { status: "active", eventId: event.id },
      settings,
    });
    const eventRows = await announcementRows(runtime, toEvent.id);
    assert.deepEqual(eventRows.map((r) => r.recipient).sort(), [x!.email, y!.email].sort());
    const toCommittee = await runAction(env, sendAnnouncement, {
      subject: "Meeting",
      body: "Agenda",
      audience: { committeeId: committee.id },
      settings,
    });
    assert.deepEqual(
      (await announcementRows(runtime, toCommittee.id)).map((r) => r.recipient),
      [z!.email],
    );
    for (const audience of [{ committeeId: randomUUID() }, { eventId: randomUUID() }, { tierKey: "nope" }]) {
      await assert.rejects(
        runAction(env, sendAnnouncement, { subject: "S", body: "B", audience, settings }),
        (e: unknown) =>
          e instanceof ClubError && e.code === "invalid_input" && /does not exist/.test(e.message),
      );
    }
  });

  test("[G11] past the outbox bound an announcement is refused with a clear message and nothing is written; under it the same one goes", async () => {
    const { runtime } = t.get();
    const db = runtime.database.db;
    const tier = await freshTier(runtime);
    await Promise.all([1, 2, 3].map(() => memberIn(runtime, tier)));
    const input = {
      subject: "Too many",
      body: "Hello",
      audience: { tierKey: tier },
      settings: { publicUrl: PUBLIC_URL, clubName: "Riverside Rowing" },
    };
    const count = async () => {
      const [ann, links, outbox, audit] = await Promise.all([
        db.selectFrom("announcements").select("id").execute(),
        db.selectFrom("unsubscribe_links").select("token_hash").execute(),
        db.selectFrom("outbox").select("id").execute(),
        db.selectFrom("audit_log").select("id").where("action", "=", "announcement.sent").execute(),
      ]);
      return [ann.length, links.length, outbox.length, audit.length];
    };
    const before = await count();
    const tight = { ...runtime.actionEnv(systemActor("test")), outboxMaxDepth: 2 };
    await assert.rejects(runAction(tight, sendAnnouncement, input), (e: unknown) => {
      assert.ok(e instanceof ClubError);
      assert.equal(e.code, "outbox_full");
      assert.match(e.message, /nothing was changed/);
      return true;
    });
    assert.deepEqual(await count(), before, "no announcement, link, message or audit entry was written");
    const roomy = { ...runtime.actionEnv(systemActor("test")), outboxMaxDepth: 3 };
    const sent = await runAction(roomy, sendAnnouncement, input);
    assert.equal(sent.queued, 3);
  });
});
