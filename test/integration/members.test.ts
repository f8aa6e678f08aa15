import assert from "node:assert/strict";
import { test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { appointToCommittee, createCommittee } from "../../src/domains/committees/committees.actions.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { deleteMember, updateMember } from "../../src/domains/members/members.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { bearerJson, Client } from "../helpers/http.ts";

const api = bearerJson;

forEachEngine("members", (engine) => {
  const t = suiteApp(engine);

  test("a stale edit is refused with 409 naming what changed, and nothing is written (W-4)", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    const subject = await tokenMember(runtime);
    const read = await api(baseUrl, admin.token, "GET", `/api/v1/members/${subject.memberId}`);
    assert.equal(read.etag, '"v1"');
    const first = await api(
      baseUrl,
      admin.token,
      "PATCH",
      `/api/v1/members/${subject.memberId}`,
      { phone: "0123" },
      { "if-match": read.etag! },
    );
    assert.equal(first.status, 200);
    assert.equal(first.etag, '"v2"');
    const stale = await api(
      baseUrl,
      admin.token,
      "PATCH",
      `/api/v1/members/${subject.memberId}`,
      { address: "1 Lane" },
      { "if-match": read.etag! },
    );
    assert.equal(stale.status, 409);
    const error = stale.body.error as { message: string; details: { changedFields: string[] } };
    assert.deepEqual(error.details.changedFields, ["phone"]);
    assert.match(error.message, /phone/);
    const row = await runtime.database.db
      .selectFrom("members")
      .selectAll()
      .where("id", "=", subject.memberId)
      .executeTakeFirstOrThrow();
    assert.equal(row.address, "", "the stale write changed nothing");
    assert.equal(row.version, 2);
    const missing = await api(baseUrl, admin.token, "PATCH", `/api/v1/members/${subject.memberId}`, {
      address: "x",
    });
    assert.equal(missing.status, 428, "no If-Match, no write");
  });

  test("a member's own form carries its version: a stale submit is refused (W-4)", async () => {
    const { runtime, baseUrl } = t.get();
    const m = await createMember(runtime, ["member"]);
    const browser = new Client(baseUrl);
    await browser.login(m.email, m.password);
    const form = await browser.get("/members/me");
    const version = form.text.match(/name="version" value="(\d+)"/)?.[1];
    assert.ok(version);
    const ok = await browser.postForm(
      "/members/me",
      { version, name: "New Name", phone: "1", address: "" },
      "/members/me",
    );
    assert.equal(ok.status, 303);
    const stale = await browser.postForm(
      "/members/me",
      { version, name: "Other Name", phone: "2", address: "" },
      "/members/me",
    );
    assert.equal(stale.status, 409);
    assert.match(stale.text, /Someone changed this member/);
    const row = await runtime.database.db
      .selectFrom("members")
      .select("name")
      .where("id", "=", m.memberId)
      .executeTakeFirstOrThrow();
    assert.equal(row.name, "New Name");
  });

  test("status follows the state machine; illegal transitions are refused; every change is in the history", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    const subject = await tokenMember(runtime);
    const illegal = await api(baseUrl, admin.token, "POST", `/api/v1/members/${subject.memberId}/status`, {
      status: "expired",
      reason: "test",
    });
    assert.equal(illegal.status, 409);
    assert.match((illegal.body.error as { message: string }).message, /cannot become expired/);
    const lapse = await api(baseUrl, admin.token, "POST", `/api/v1/members/${subject.memberId}/status`, {
      status: "lapsed",
      reason: "did not renew",
    });
    assert.equal(lapse.status, 200);
    const history = await runtime.database.db
      .selectFrom("member_status_history")
      .selectAll()
      .where("member_id", "=", subject.memberId)
      .orderBy("changed_at")
      .execute();
    assert.deepEqual(
      history.map((h) => [h.from_status, h.to_status]),
      [
        [null, "active"],
        ["active", "lapsed"],
      ],
    );
    assert.equal(history[1]!.reason, "did not renew");
    assert.match(history[1]!.changed_by, /^member:/);
  });

  test("the directory honours opt-outs and shows only active members", async () => {
    const { runtime, baseUrl } = t.get();
    const visible = await createMember(runtime, ["member"], "Visible Person");
    const hidden = await tokenMember(runtime);
    await api(
      baseUrl,
      hidden.token,
      "PATCH",
      "/api/v1/members/me",
      { directoryOptOut: true, name: "Hidden Person" },
      { "if-match": '"v1"' },
    );
    const browser = new Client(baseUrl);
    await browser.login(visible.email, visible.password);
    const page = await browser.get("/directory");
    assert.equal(page.status, 200);
    assert.match(page.text, /Visible Person/);
    assert.doesNotMatch(page.text, /Hidden Person/);
    assert.equal((await new Client(baseUrl).get("/directory")).status, 401);
  });

  test("a deleted member is never silently recreated: the same email is refused with a pointer to restore", async () => {
    const { runtime } = t.get();
    const env = runtime.actionEnv(systemActor("test"));
    const email = `gone-${Date.now()}@example.org`;
    const m = await runAction(env, createMemberRecord, { name: "Gone", email });
    await runAction(env, deleteMember, { memberId: m.id, reason: "left", timeZone: "UTC" });
    await assert.rejects(
      runAction(env, createMemberRecord, { name: "Gone Again", email: email.toUpperCase() }),
      /deleted member.*Restore/,
    );
    const rows = await runtime.database.db
      .selectFrom("members")
      .select("id")
      .where("email", "ilike", email)
      .execute();
    assert.equal(rows.length, 1);
  });

  test("the admin list pages with a cursor and filters by status", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    for (let i = 0; i < 5; i++) await tokenMember(runtime);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: Record<string, unknown> } = await api(
        baseUrl,
        admin.token,
        "GET",
        `/api/v1/members?limit=3${cursor ? `&after=${cursor}` : ""}`,
      );
      for (const m of page.body.members as { id: string }[]) {
        assert.ok(!seen.has(m.id), "no member twice");
        seen.add(m.id);
      }
      cursor = page.body.next as string | null;
      pages++;
    } while (cursor && pages < 100);
    const total = await runtime.database.db
      .selectFrom("members")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("deleted_at", "is", null)
      .executeTakeFirstOrThrow();
    assert.equal(seen.size, Number(total.n));
    const lapsed = await api(baseUrl, admin.token, "GET", "/api/v1/members?status=lapsed");
    for (const m of lapsed.body.members as { status: string }[]) assert.equal(m.status, "lapsed");
    const member = await tokenMember(runtime);
    assert.equal((await api(baseUrl, member.token, "GET", "/api/v1/members")).status, 403);
  });
});

forEachEngine("admin member list filters", (engine) => {
  const t = suiteApp(engine);

  test("the admin list filters by tier and by committee (current terms only), in the API and the page", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    const env = runtime.actionEnv(systemActor("test"));
    // Besides these three, the suite's other members are on no committee and in no tier.
    const [onCommittee, pastTerm, family] = [
      await tokenMember(runtime),
      await tokenMember(runtime),
      await tokenMember(runtime),
    ];
    const committee = await runAction(env, createCommittee, { name: `Garden ${Date.now()}` });
    await runAction(env, appointToCommittee, {
      committeeId: committee.id,
      memberId: onCommittee.memberId,
      role: "member",
      timeZone: "UTC",
    });
    await runAction(env, appointToCommittee, {
      committeeId: committee.id,
      memberId: pastTerm.memberId,
      role: "member",
      startsAt: "2020-01-01T00:00:00Z",
      endsAt: "2021-01-01T00:00:00Z",
      timeZone: "UTC",
    });
    await runAction(env, updateMember, {
      memberId: family.memberId,
      version: 1,
      changes: { tier_key: "family" },
    });
    const ids = async (query: string) =>
      (
        (await api(baseUrl, admin.token, "GET", `/api/v1/members?${query}`)).body.members as { id: string }[]
      ).map((m) => m.id);
    assert.deepEqual(await ids(`committee=${committee.id}`), [onCommittee.memberId]);
    assert.deepEqual(await ids("tier=family"), [family.memberId]);
    assert.deepEqual(await ids("committee=not-a-uuid"), [], "a malformed committee matches nobody");
    const page = await fetch(`${baseUrl}/admin/members?committee=${committee.id}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.ok(html.includes(`/admin/members/${onCommittee.memberId}`));
    assert.ok(!html.includes(`/admin/members/${pastTerm.memberId}`), "an ended term does not count");
    assert.match(html, new RegExp(`<option value="${committee.id}" selected`));
    assert.match(html, /<option value="family"/);
  });
});

forEachEngine("member deletion and restore", (engine) => {
  const t = suiteApp(engine);

  test("an admin deletes a member (kept, sessions ended, out of the list) and restores the same record", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "membership_chair"]);
    const m = await createMember(runtime, ["member"], "Leaving Person");
    const browser = new Client(baseUrl);
    await browser.login(m.email, m.password);
    assert.equal((await browser.get("/api/v1/me")).status, 200);
    const del = await api(baseUrl, admin.token, "POST", `/api/v1/members/${m.memberId}/delete`, {
      reason: "moved away",
    });
    assert.equal(del.status, 200);
    assert.equal((await browser.get("/api/v1/me")).status, 401, "the deleted member's sessions end");
    const listed = await api(baseUrl, admin.token, "GET", "/api/v1/members?search=leaving");
    assert.deepEqual(listed.body.members, []);
    const deleted = await api(baseUrl, admin.token, "GET", "/api/v1/members?status=deleted&search=leaving");
    assert.deepEqual(
      (deleted.body.members as { id: string }[]).map((x) => x.id),
      [m.memberId],
    );
    const restored = await api(baseUrl, admin.token, "POST", `/api/v1/members/${m.memberId}/restore`, {
      reason: "came back",
    });
    assert.equal(restored.status, 200);
    const row = await runtime.database.db
      .selectFrom("members")
      .selectAll()
      .where("id", "=", m.memberId)
      .executeTakeFirstOrThrow();
    assert.equal(row.deleted_at, null, "the same id is back");
    const audit = await runtime.database.db
      .selectFrom("audit_log")
      .select(["action", "reason"])
      .where("subject_id", "=", m.memberId)
      .where("action", "in", ["member.deleted", "member.restored"])
      .orderBy("seq")
      .execute();
    assert.deepEqual(audit, [
      { action: "member.deleted", reason: "moved away" },
      { action: "member.restored", reason: "came back" },
    ]);
  });
});
