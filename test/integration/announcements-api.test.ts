import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { setOwnEmailPreferences } from "../../src/domains/members/email-preferences.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, tokenMember } from "../helpers/events.ts";
import { bearerJson } from "../helpers/http.ts";

/** A tier of its own per test, so each audience holds only that test's members (fixture). */
async function tierWith(runtime: Runtime, n: number): Promise<{ tier: string; memberIds: string[] }> {
  const tier = `t${randomUUID().slice(0, 8)}`;
  await runtime.database.db
    .insertInto("membership_tiers")
    .values({ key: tier, name: `Tier ${tier}`, renewal_months: 12 })
    .execute();
  const memberIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = await tokenMember(runtime, []);
    await runtime.database.db
      .updateTable("members")
      .set({ tier_key: tier })
      .where("id", "=", m.memberId)
      .execute();
    memberIds.push(m.memberId);
  }
  return { tier, memberIds };
}

const outboxOf = (runtime: Runtime, id: string) =>
  runtime.database.db
    .selectFrom("outbox")
    .select(["recipient"])
    .where(sql<string>`payload->>'announcementId'`, "=", id)
    .execute();

forEachEngine("announcements JSON API", (engine) => {
  const t = suiteApp(engine, { CLUBOS_PUBLIC_URL: "https://club.example.org" });

  test("POST sends through the same action (one row per recipient, opt-outs skipped, audited); GET lists and shows it with counts", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["membership_chair"]);
    const { tier, memberIds } = await tierWith(runtime, 3);
    await runAction(
      runtime.actionEnv({
        type: "member",
        memberId: memberIds[2]!,
        name: "m",
        capabilities: new Set(["profile:write"]),
      }),
      setOwnEmailPreferences,
      { announcements: false },
    );
    const sent = await apiPost(
      baseUrl,
      admin.token,
      "/api/v1/announcements",
      { subject: "Regatta", body: "Boats *out*.", audience: { tierKey: tier } },
      { "idempotency-key": `ann-${randomUUID()}` },
    );
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual(Object.keys(sent.body).sort(), [
      "id",
      "queued",
      "skippedOptedOut",
      "skippedUndeliverable",
    ]);
    assert.equal(sent.body.queued, 2);
    assert.equal(sent.body.skippedOptedOut, 1);
    assert.equal((await outboxOf(runtime, sent.body.id)).length, 2);
    const audit = await runtime.database.db
      .selectFrom("audit_log")
      .select(["actor_type", "actor_id"])
      .where("action", "=", "announcement.sent")
      .where("subject_id", "=", sent.body.id)
      .execute();
    assert.equal(audit.length, 1, "one audit entry, as from the form");
    assert.equal(audit[0]!.actor_id, `member:${admin.memberId}`);

    const list = await bearerJson(baseUrl, admin.token, "GET", "/api/v1/announcements");
    assert.equal(list.status, 200);
    const listed = list.body.announcements.find((a: { id: string }) => a.id === sent.body.id);
    assert.ok(listed, "the new announcement is listed");
    assert.equal(listed.counts.total, 2);
    assert.equal(listed.counts.queued + listed.counts.held + listed.counts.sent + listed.counts.failed, 2);
    assert.equal(listed.counts.skippedOptedOut, 1);
    assert.match(listed.audienceLabel, new RegExp(`Tier ${tier}`));

    const one = await bearerJson(baseUrl, admin.token, "GET", `/api/v1/announcements/${sent.body.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.announcement.body, "Boats *out*.");
    assert.deepEqual(one.body.announcement.audience, { status: "active", tierKey: tier });
    assert.equal(one.body.announcement.counts.total, 2);

    const missing = await bearerJson(baseUrl, admin.token, "GET", `/api/v1/announcements/${randomUUID()}`);
    assert.equal(missing.status, 404);
  });

  test("an Idempotency-Key replay answers the first send again and writes nothing more", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["membership_chair"]);
    const { tier } = await tierWith(runtime, 2);
    const key = { "idempotency-key": `ann-${randomUUID()}` };
    const body = { subject: "Once", body: "Only once.", audience: { tierKey: tier } };
    const first = await apiPost(baseUrl, admin.token, "/api/v1/announcements", body, key);
    const again = await apiPost(baseUrl, admin.token, "/api/v1/announcements", body, key);
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);
    const rows = await runtime.database.db
      .selectFrom("announcements")
      .select("id")
      .where("subject", "=", "Once")
      .where(sql<string>`audience->>'tierKey'`, "=", tier)
      .execute();
    assert.equal(rows.length, 1, "one announcement, not two");
    assert.equal((await outboxOf(runtime, first.body.id)).length, 2);
  });

  test("the same capability as the form: a member is refused; bad input is a 400 naming the field and writes nothing", async () => {
    const { runtime, baseUrl } = t.get();
    const member = await tokenMember(runtime, ["member"]);
    const { tier } = await tierWith(runtime, 1);
    const key = () => ({ "idempotency-key": `ann-${randomUUID()}` });
    const denied = await apiPost(
      baseUrl,
      member.token,
      "/api/v1/announcements",
      { subject: "No", body: "No.", audience: { tierKey: tier } },
      key(),
    );
    assert.equal(denied.status, 403);
    const list = await bearerJson(baseUrl, member.token, "GET", "/api/v1/announcements");
    assert.equal(list.status, 403);

    const admin = await tokenMember(runtime, ["membership_chair"]);
    const before = await runtime.database.db
      .selectFrom("announcements")
      .select(sql<number>`count(*)::integer`.as("n"))
      .executeTakeFirstOrThrow();
    const badStatus = await apiPost(
      baseUrl,
      admin.token,
      "/api/v1/announcements",
      { subject: "S", body: "B", audience: { status: "everyone" } },
      key(),
    );
    assert.equal(badStatus.status, 400);
    assert.match(JSON.stringify(badStatus.body), /status/);
    const noSubject = await apiPost(baseUrl, admin.token, "/api/v1/announcements", { body: "B" }, key());
    assert.equal(noSubject.status, 400);
    const nobody = await apiPost(
      baseUrl,
      admin.token,
      "/api/v1/announcements",
      { subject: "S", body: "B", audience: { tierKey: "no-such-tier" } },
      key(),
    );
    assert.equal(nobody.status, 400);
    assert.match(nobody.body.error.message, /tier does not exist/);
    const after = await runtime.database.db
      .selectFrom("announcements")
      .select(sql<number>`count(*)::integer`.as("n"))
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.n), Number(before.n), "nothing half-written");
  });
});
