import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { type Actor, operatorActor, systemActor } from "../../src/core/actor.ts";
import { hashSecret } from "../../src/core/secrets.ts";
import { cancelRegistration, registerForEvent } from "../../src/domains/events/events.actions.ts";
import { cancelEvent } from "../../src/domains/events/events.admin.actions.ts";
import {
  FORGOT_PASSWORD_FORM,
  inviteMember,
  linkSettingsOf,
  requestPasswordReset,
  sendPasswordReset,
} from "../../src/domains/identity/account-links.actions.ts";
import {
  applyToJoin,
  approveApplication,
  confirmApplication,
  JOIN_FORM,
  rejectApplication,
} from "../../src/domains/identity/join.actions.ts";
import { MailService } from "../../src/domains/mail/mail.service.ts";
import { clubMessage, messageText } from "../../src/domains/mail/message.presenters.ts";
import { sendAnnouncement } from "../../src/domains/members/announcements.actions.ts";
import { clubToday } from "../../src/domains/members/lapse.job.ts";
import { renewalReminderJob } from "../../src/domains/members/renewal-reminders.job.ts";
import { openIncident, setAreaOwner } from "../../src/domains/ops/incidents.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { cliEnv } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { publishedEvent, tokenMember } from "../helpers/events.ts";
import { startTestSmtp, type TestSmtp } from "../helpers/smtp.ts";

/* Every kind of message ClubOS can put into the outbox, made by the real actions and jobs, then
 * delivered by the real worker to a real SMTP server: each has a plain-text part and names the club, and
 * an announcement carries its unsubscribe link and headers (issue 9). A new kind of message (a topic in a
 * *.messages.ts this walk does not make) fails the walk until it is added here. */

const CLUB = "Riverside Rowing Club";
const FROM = "Riverside Rowing <club@mail.test>";
const PUBLIC_URL = "https://club.example.org";

/** Every topic written in a template file: what the system can put into the outbox. */
function templateTopics(): Set<string> {
  const topics = new Set<string>();
  const domains = join(import.meta.dirname, "../../src/domains");
  for (const domain of readdirSync(domains)) {
    for (const file of readdirSync(join(domains, domain))) {
      if (!file.endsWith(".messages.ts")) continue;
      const text = readFileSync(join(domains, domain, file), "utf8");
      // A topic is a dotted name ("registration.confirmed"), or any value given as `topic:`.
      for (const m of text.matchAll(/topic: "([a-z_.]+)"|"([a-z]+\.[a-z_]+)"/g)) topics.add((m[1] ?? m[2])!);
    }
  }
  return topics;
}

const headOf = (raw: string) => raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ");
const headerIn = (raw: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(headOf(raw))?.[1]?.trim();

/** The decoded text/plain part of a received message (quoted-printable or plain). */
function plainPart(raw: string): string | undefined {
  const unfolded = raw.replace(/=\r?\n/g, "");
  const parts = unfolded.split(/\r?\n--[^\r\n]+\r?\n/);
  const candidates = /^content-type:\s*multipart/im.test(headOf(raw)) ? parts.slice(1) : [unfolded];
  for (const part of candidates) {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    if (!/content-type:\s*text\/plain/i.test(head ?? "")) continue;
    const body = rest.join("\n\n");
    return /quoted-printable/i.test(head ?? "")
      ? Buffer.from(
          body.replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
          "latin1",
        ).toString("utf8")
      : body;
  }
  return undefined;
}

const memberActor = (memberId: string): Actor => ({
  type: "member",
  memberId,
  name: "m",
  capabilities: new Set(["events:register"]),
});

/** Makes one message of every kind through the actions and jobs that write them. */
async function everyKindOfMessage(runtime: Runtime): Promise<void> {
  const system = runtime.actionEnv(systemActor("test"));
  const admin = runtime.actionEnv(operatorActor("test"));
  const settings = linkSettingsOf(runtime.config, true);
  const db = runtime.database.db;

  // Registrations: a seat, the waitlist, a cancellation that promotes, an event cancelled.
  const event = await publishedEvent(runtime, { capacity: 1, title: "Regatta" });
  const first = await tokenMember(runtime);
  const second = await tokenMember(runtime);
  const tz = runtime.config.timeZone;
  const seat = await runAction(runtime.actionEnv(memberActor(first.memberId)), registerForEvent, {
    eventId: event.id,
    timeZone: tz,
  });
  await runAction(runtime.actionEnv(memberActor(second.memberId)), registerForEvent, {
    eventId: event.id,
    timeZone: tz,
  });
  await runAction(runtime.actionEnv(memberActor(first.memberId)), cancelRegistration, {
    registrationId: seat.id,
    timeZone: tz,
  });
  await runAction(admin, cancelEvent, { eventId: event.id, reason: "storm", timeZone: tz });

  // Invitations and password resets.
  const invitee = await tokenMember(runtime, []);
  await runAction(admin, inviteMember, { memberId: invitee.memberId, settings });
  const login = await createMember(runtime);
  await runAction(admin, sendPasswordReset, { memberId: login.memberId, settings });
  await runAction(runtime.actionEnv(FORGOT_PASSWORD_FORM), requestPasswordReset, {
    email: login.email,
    settings,
  });

  // Joining: a new applicant (confirmation link), a member's own address (told instead), approval
  // (the invitation) and rejection.
  const apply = async (email: string) =>
    runAction(runtime.actionEnv(JOIN_FORM), applyToJoin, {
      name: "Applicant",
      email,
      phone: "",
      tierKey: "standard",
      message: "",
      settings,
    });
  const confirmed = async () => {
    const email = `join-${randomUUID()}@example.org`;
    await apply(email);
    const row = await db
      .selectFrom("join_applications")
      .select(["id"])
      .where("email", "=", email)
      .executeTakeFirstOrThrow();
    // The token is mailed only; the confirmation step is the action, so the hash is set to a known one.
    const token = randomUUID();
    await db
      .updateTable("join_applications")
      .set({ confirm_token_hash: hashSecret(token) })
      .where("id", "=", row.id)
      .execute();
    await runAction(runtime.actionEnv(JOIN_FORM), confirmApplication, { token });
    return row.id;
  };
  await apply(login.email);
  await runAction(admin, approveApplication, { applicationId: await confirmed(), settings });
  await runAction(admin, rejectApplication, {
    applicationId: await confirmed(),
    reason: "The club is full this year.",
    settings,
  });

  // A renewal reminder, 7 days before the renewal date.
  const now = new Date();
  const due = new Date(Date.parse(`${clubToday(tz, now)}T00:00:00Z`) + 7 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const dueMember = await tokenMember(runtime, []);
  await db
    .updateTable("members")
    .set({ renewal_due_on: due, tier_key: "standard" })
    .where("id", "=", dueMember.memberId)
    .execute();
  await renewalReminderJob.run({
    ctx: runtime,
    runId: `job:renewal-reminders:${randomUUID()}`,
    triggeredBy: "test",
    now,
    signal: new AbortController().signal,
    progress: () => {},
  });

  // An announcement to the active members of one tier.
  const tier = `t${randomUUID().slice(0, 8)}`;
  await db.insertInto("membership_tiers").values({ key: tier, name: tier, renewal_months: 12 }).execute();
  const reader = await tokenMember(runtime, []);
  await db.updateTable("members").set({ tier_key: tier }).where("id", "=", reader.memberId).execute();
  await runAction(system, sendAnnouncement, {
    subject: "Spring <regatta>",
    body: "Boats *out* on **Saturday**.",
    audience: { status: "active", tierKey: tier },
    settings: { publicUrl: PUBLIC_URL, clubName: runtime.config.clubName },
  });

  // An incident opened in an area with an owner tells them.
  const owner = await tokenMember(runtime, []);
  await runAction(admin, setAreaOwner, { area: "security", email: owner.email });
  await runAction(admin, openIncident, { severity: "SEV-2", title: "Odd sign-ins", area: "security" });
}

test("the frame: greeting, lines, the club's name as sign-off and the footer, in text and escaped HTML", () => {
  const draft = clubMessage({
    topic: "x",
    recipient: "a@example.org",
    clubName: "A & B <Club>",
    name: "Ann <b>",
    subject: "s",
    lines: ["Line one."],
    footer: ["Unsubscribe: https://u.example/1"],
    html: "<p>Line one.</p>",
  });
  assert.equal(
    draft.body,
    "Hello Ann <b>,\n\nLine one.\n\n--\nA & B <Club>\nUnsubscribe: https://u.example/1",
  );
  const html = (draft.payload as { html: string }).html;
  assert.match(html, /Hello Ann &lt;b&gt;,/);
  assert.match(html, /A &amp; B &lt;Club&gt;/);
  assert.doesNotMatch(html, /<b>/);
  assert.equal(messageText({ clubName: "C", name: "n", lines: [] }), "Hello n,\n\n\n--\nC");
});

forEachEngine("every message ClubOS sends", (engine) => {
  let smtp: TestSmtp;
  before(async () => {
    smtp = await startTestSmtp();
  });
  after(async () => smtp.close());
  const t = suiteApp(engine, { CLUBOS_CLUB_NAME: CLUB, CLUBOS_PUBLIC_URL: PUBLIC_URL });

  test("each kind in the outbox has a plain-text part and the club's name; an announcement its unsubscribe link and headers", async () => {
    const { runtime } = t.get();
    const startedAt = new Date();
    await everyKindOfMessage(runtime);
    const rows = await runtime.database.db
      .selectFrom("outbox")
      .selectAll()
      .where("created_at", ">=", new Date(startedAt.getTime() - 1000))
      .execute();
    const seen = new Set(rows.map((r) => r.topic));
    for (const topic of templateTopics())
      assert.ok(seen.has(topic), `no ${topic} message was made by the walk`);
    for (const row of rows) {
      assert.ok(row.body && row.body.trim().length > 0, `${row.topic}: no text`);
      assert.ok(row.body.includes(CLUB), `${row.topic}: the text does not name the club:\n${row.body}`);
      assert.match(row.body, /^Hello .+,\n/, `${row.topic}: not in the one frame`);
      assert.match(row.body, new RegExp(`\\n--\\n${CLUB}(\\n|$)`), `${row.topic}: not signed by the club`);
    }

    const mail = new MailService({
      smtpUrl: smtp.url,
      from: FROM,
      timeoutMs: 5_000,
      maxAttempts: 3,
      retryBaseMs: 30,
      breakerFailures: 100,
      breakerResetMs: 60_000,
      leaseMs: 30_000,
      pollMs: 50,
    });
    try {
      await mail.makeWorker(runtime.database.db).drain();
    } finally {
      mail.close();
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const delivered = smtp.received.filter((r) => byId.has(/<([^@>]+)@/.exec(r.messageId ?? "")?.[1] ?? ""));
    assert.equal(delivered.length, rows.length, "every message reached the server");
    for (const received of delivered) {
      const row = byId.get(/<([^@>]+)@/.exec(received.messageId!)![1]!)!;
      const text = plainPart(received.raw);
      assert.ok(text, `${row.topic}: no text/plain part`);
      assert.ok(text.includes(CLUB), `${row.topic}: the plain text sent does not name the club`);
      if (row.topic === "announcement") {
        const unsubscribe = headerIn(received.raw, "List-Unsubscribe");
        assert.match(unsubscribe ?? "", /^<https:\/\/club\.example\.org\/unsubscribe\/[^>]+>$/);
        assert.equal(headerIn(received.raw, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
        assert.ok(text.includes(unsubscribe!.slice(1, -1)), "the unsubscribe link is in the text");
        assert.match(
          received.raw,
          /content-type:\s*text\/html/i,
          "the HTML alternative goes beside the text",
        );
      } else {
        assert.equal(
          headerIn(received.raw, "List-Unsubscribe"),
          undefined,
          `${row.topic} is not a list mail`,
        );
      }
    }
  });

  test("clubos mail test sends a framed plain-text message naming the club", async () => {
    const { runtime } = t.get();
    const { env, lines } = cliEnv(runtime);
    const config = { ...runtime.config, mail: { ...runtime.config.mail, smtpUrl: smtp.url, from: FROM } };
    const before = smtp.received.length;
    const code = await runCli(["mail", "test", "--to", "ops@example.org"], { ...env, config });
    assert.equal(code, 0, lines.join("\n"));
    const received = smtp.received.slice(before);
    assert.equal(received.length, 1);
    const text = plainPart(received[0]!.raw);
    assert.ok(text?.includes(CLUB), `the test message names the club:\n${received[0]!.raw}`);
    assert.match(text!, /^Hello ops@example\.org,/);
  });
});
