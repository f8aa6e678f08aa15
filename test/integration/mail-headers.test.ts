import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { sql } from "kysely";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { ClubError } from "../../src/core/errors.ts";
import { createEvent } from "../../src/domains/events/events.actions.ts";
import { MailService } from "../../src/domains/mail/mail.service.ts";
import { headerValue } from "../../src/domains/mail/mail.transport.ts";
import { isOneLine } from "../../src/http/schema.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { startTestSmtp, type TestSmtp } from "../helpers/smtp.ts";

/* What a user typed never becomes a mail header: one-line fields refuse line breaks at the edge (the
 * ONE_LINE schema) and in the actions (event-fields.ts), and every header value is flattened to one line
 * where mail leaves (mail.transport.ts), for text that got in before these rules. */

const INJECTED = "Quiz\r\nBcc: attacker@example.org";
const headOf = (raw: string) => raw.split(/\r?\n\r?\n/)[0]!;

test("a header value is always one line; one-line text is text without line breaks or controls", () => {
  assert.equal(headerValue(INJECTED), "Quiz Bcc: attacker@example.org");
  assert.equal(headerValue("a\u2028b\tc\u0000d"), "a b c d");
  for (const bad of ["a\nb", "a\rb", "a\tb", "a\u2028b", "a\u0085b".replace("\u0085", "\u001f")])
    assert.ok(!isOneLine(bad), JSON.stringify(bad));
  assert.ok(isOneLine("Quiz night: café & croissants — 20:00"));
});

forEachEngine("mail headers", (engine) => {
  const t = suiteApp(engine);
  let smtp: TestSmtp;

  beforeEach(async () => {
    smtp = await startTestSmtp("accept");
    await sql`UPDATE outbox SET status = 'cancelled' WHERE status IN ('pending', 'held', 'dead')`.execute(
      t.get().runtime.database.db,
    );
  });
  afterEach(async () => {
    await smtp.close();
  });

  test("an event title with CR/LF is refused by the API schema (400, field named) and by the action", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["events_chair"]);
    const start = new Date(Date.now() + 86_400_000);
    const body = {
      title: INJECTED,
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      capacity: 10,
      audience: "members" as const,
    };
    const res = await apiPost(baseUrl, chair.token, "/api/v1/events", body);
    assert.equal(res.status, 400);
    // The schema's words ("is not valid"), not the action's ("must fit on one line"): refused at the edge.
    assert.match(res.body.error.message, /title.*not valid|not valid.*title/);
    const located = await apiPost(baseUrl, chair.token, "/api/v1/events", {
      ...body,
      title: "Quiz",
      location: "Hall\nBcc: x@y",
    });
    assert.equal(located.status, 400, "the location is one line too");
    await assert.rejects(
      runAction(runtime.actionEnv(systemActor("test")), createEvent, { ...body, status: "published" }),
      (e: unknown) => e instanceof ClubError && /one line/.test(e.message),
      "callers that skip the schema (CLI, imports, scripts) meet the same rule",
    );
  });

  test("a title with CR/LF already stored cannot add a header to the mail a real SMTP server receives", async () => {
    const { runtime, baseUrl } = t.get();
    const event = await publishedEvent(runtime, { title: "Quiz" });
    // Test setup: a title stored before the one-line rule existed.
    await runtime.database.db
      .updateTable("events")
      .set({ title: INJECTED })
      .where("id", "=", event.id)
      .execute();
    const member = await tokenMember(runtime, []);
    const reg = await apiPost(baseUrl, member.token, `/api/v1/events/${event.id}/registrations`, {});
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const mail = new MailService({
      smtpUrl: smtp.url,
      from: "Test Club <club@mail.test>",
      timeoutMs: 2_000,
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
    const received = smtp.received.filter(
      (r) => r.to.includes(member.email.toLowerCase()) || r.to.includes(member.email),
    );
    assert.equal(received.length, 1, "the confirmation arrived");
    const head = headOf(received[0]!.raw);
    assert.doesNotMatch(head, /^Bcc:/im, "no Bcc header");
    assert.match(received[0]!.subject ?? "", /^You are registered: Quiz Bcc: attacker@example\.org$/);
    assert.deepEqual(received[0]!.to, [member.email], "nobody else received it");
    assert.ok(!smtp.received.some((r) => r.to.includes("attacker@example.org")));
  });
});
