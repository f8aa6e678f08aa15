import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor, systemActor } from "../../src/core/actor.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { grantRole } from "../../src/domains/identity/identity.actions.ts";
import { lapseJob } from "../../src/domains/members/lapse.job.ts";
import { changeMemberStatus, deleteMember, updateMember } from "../../src/domains/members/members.actions.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { bearerJson, Client } from "../helpers/http.ts";

const api = bearerJson;

/** What a refused change must leave exactly as it was: the member row and the audit log's length. */
async function snapshot(runtime: Runtime, memberId: string) {
  const db = runtime.database.db;
  const member = await db
    .selectFrom("members")
    .select(["email", "phone", "status", "version", "deleted_at", "renewal_due_on"])
    .where("id", "=", memberId)
    .executeTakeFirstOrThrow();
  const audit = await db
    .selectFrom("audit_log")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  const history = await db
    .selectFrom("member_status_history")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("member_id", "=", memberId)
    .executeTakeFirstOrThrow();
  return { member, audit: Number(audit.n), history: Number(history.n) };
}

/** A member's version now (the If-Match a client would send). */
async function versionOf(runtime: Runtime, memberId: string) {
  const row = await runtime.database.db
    .selectFrom("members")
    .select("version")
    .where("id", "=", memberId)
    .executeTakeFirstOrThrow();
  return row.version;
}

/** Gives a member a tier and a renewal date, as an admin would (a fixture for renewing). */
async function renewable(runtime: Runtime, memberId: string) {
  await runtime.database.db
    .updateTable("members")
    .set({ tier_key: "standard", renewal_due_on: "2090-01-01" })
    .where("id", "=", memberId)
    .execute();
}

const system = (runtime: Runtime) => runtime.actionEnv(systemActor("test"));

/** The rejection of an action, with its code. */
const rejectsWith = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (error: { code?: string }) => {
    assert.equal(error.code, code);
    return true;
  });

forEachEngine("who may change whom", (engine) => {
  const t = suiteApp(engine);

  /** Two full administrators (so the last-administrator rule is not what answers) and a chair. */
  async function cast() {
    const { runtime } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    await tokenMember(runtime, ["member", "full_admin"]);
    const chair = await tokenMember(runtime, ["member", "membership_chair"]);
    await renewable(runtime, admin.memberId);
    return { admin, chair };
  }

  const assertOutranked = (res: { status: number; body: { error?: { code: string; message: string } } }) => {
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, "member_outranks_actor");
    assert.match(res.body.error!.message, /permissions you do not hold/);
    assert.match(res.body.error!.message, /full administrator/);
  };

  test("[G03] a membership chair cannot change, suspend, renew or delete a full administrator through the API; nothing is written", async () => {
    const { runtime, baseUrl } = t.get();
    const { admin, chair } = await cast();
    const before = await snapshot(runtime, admin.memberId);
    const path = `/api/v1/members/${admin.memberId}`;
    const ifMatch = { "if-match": `"v${before.member.version}"` };
    const attempts = [
      await api(
        baseUrl,
        chair.token,
        "PATCH",
        path,
        { email: `taken-over-${Date.now()}@example.org` },
        ifMatch,
      ),
      await api(baseUrl, chair.token, "PATCH", path, { phone: "0999" }, ifMatch),
      await api(baseUrl, chair.token, "POST", `${path}/status`, { status: "suspended", reason: "coup" }),
      await api(baseUrl, chair.token, "POST", `${path}/renew`, {}),
      await api(baseUrl, chair.token, "POST", `${path}/delete`, { reason: "coup" }),
    ];
    for (const res of attempts) assertOutranked(res);
    assert.deepEqual(await snapshot(runtime, admin.memberId), before, "nothing was written");
  });

  test("[G03] a membership chair cannot reactivate a suspended full administrator, nor restore a deleted one", async () => {
    const { runtime, baseUrl } = t.get();
    const { admin, chair } = await cast();
    const other = await tokenMember(runtime, ["member", "full_admin"]);
    await runAction(system(runtime), changeMemberStatus, {
      memberId: admin.memberId,
      status: "suspended",
      reason: "investigating",
    });
    await runAction(system(runtime), deleteMember, {
      memberId: other.memberId,
      reason: "left",
      timeZone: "UTC",
    });
    const suspended = await snapshot(runtime, admin.memberId);
    const deleted = await snapshot(runtime, other.memberId);
    assertOutranked(
      await api(baseUrl, chair.token, "POST", `/api/v1/members/${admin.memberId}/status`, {
        status: "active",
        reason: "back",
      }),
    );
    assertOutranked(
      await api(baseUrl, chair.token, "POST", `/api/v1/members/${other.memberId}/restore`, {
        reason: "back",
      }),
    );
    assert.deepEqual(await snapshot(runtime, admin.memberId), suspended);
    assert.deepEqual(await snapshot(runtime, other.memberId), deleted);
  });

  test("[G03] the same refusals on the admin pages: a chair's forms against a full administrator answer 403 and write nothing", async () => {
    const { runtime, baseUrl } = t.get();
    const { admin } = await cast();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const page = `/admin/members/${admin.memberId}`;
    assert.equal((await browser.get(page)).status, 200, "the chair may read the record");
    const before = await snapshot(runtime, admin.memberId);
    const version = String(before.member.version);
    const forms: [string, Record<string, string>][] = [
      [
        page,
        { version, name: "Renamed", email: `taken-over-${Date.now()}@example.org`, phone: "", address: "" },
      ],
      [`${page}/status`, { version, status: "suspended", reason: "coup" }],
      [`${page}/renew`, { version, reason: "paid" }],
      [`${page}/delete`, { reason: "coup" }],
    ];
    for (const [action, form] of forms) {
      const res = await browser.postForm(action, form, page);
      assert.equal(res.status, 403, `${action}: ${res.text.slice(0, 200)}`);
      assert.match(res.text, /permissions you do not hold/, action);
    }
    await runAction(system(runtime), deleteMember, {
      memberId: admin.memberId,
      reason: "test",
      timeZone: "UTC",
    });
    const deleted = await snapshot(runtime, admin.memberId);
    const restore = await browser.postForm(`${page}/restore`, { reason: "back" }, page);
    assert.equal(restore.status, 403);
    assert.deepEqual(await snapshot(runtime, admin.memberId), deleted);
    assert.equal(deleted.audit, before.audit + 1, "only the fixture's deletion was written");
  });

  test("the same chair changes, suspends, renews, deletes and restores a plain member, through the API and the pages", async () => {
    const { runtime, baseUrl } = t.get();
    const { chair } = await cast();
    const plain = await tokenMember(runtime);
    await renewable(runtime, plain.memberId);
    const path = `/api/v1/members/${plain.memberId}`;
    const patched = await api(baseUrl, chair.token, "PATCH", path, { phone: "0123" }, { "if-match": '"v1"' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.phone, "0123");
    const renewed = await api(baseUrl, chair.token, "POST", `${path}/renew`, {});
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal(renewed.body.renewalDueOn, "2091-01-01");
    const suspended = await api(baseUrl, chair.token, "POST", `${path}/status`, {
      status: "suspended",
      reason: "x",
    });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    assert.equal(suspended.body.status, "suspended");
    assert.equal((await api(baseUrl, chair.token, "POST", `${path}/delete`, { reason: "x" })).status, 200);
    assert.equal((await api(baseUrl, chair.token, "POST", `${path}/restore`, { reason: "x" })).status, 200);

    const browserChair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(browserChair.email, browserChair.password);
    const other = await tokenMember(runtime);
    const page = `/admin/members/${other.memberId}`;
    const saved = await browser.postForm(
      page,
      { version: "1", name: "Changed Name", email: other.email, phone: "1", address: "" },
      page,
    );
    assert.equal(saved.status, 303, saved.text.slice(0, 300));
    const status = await browser.postForm(
      `${page}/status`,
      { version: "2", status: "suspended", reason: "x" },
      page,
    );
    assert.equal(status.status, 303, status.text.slice(0, 300));
    assert.equal((await browser.postForm(`${page}/delete`, { reason: "x" }, page)).status, 303);
    assert.equal((await browser.postForm(`${page}/restore`, { reason: "x" }, page)).status, 303);
    const row = await runtime.database.db
      .selectFrom("members")
      .select(["name", "status", "deleted_at"])
      .where("id", "=", other.memberId)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { name: "Changed Name", status: "suspended", deleted_at: null });
  });
});

forEachEngine("the last full administrator", (engine) => {
  const t = suiteApp(engine);
  let made: Awaited<ReturnType<typeof createMember>> | undefined;
  /** The suite's only full administrator (its database has no other). */
  const soloAdmin = async () => {
    made ??= await createMember(t.get().runtime, ["member", "full_admin"], "Solo Admin");
    return made;
  };

  test("[G03] the only full administrator keeps their login email and cannot delete or suspend themselves from the admin pages", async () => {
    const { runtime, baseUrl } = t.get();
    const solo = await soloAdmin();
    const browser = new Client(baseUrl);
    await browser.login(solo.email, solo.password);
    const page = `/admin/members/${solo.memberId}`;
    const before = await snapshot(runtime, solo.memberId);
    const version = String(before.member.version);

    const readdressed = await browser.postForm(
      page,
      { version, name: "Solo Admin", email: `elsewhere-${Date.now()}@example.org`, phone: "", address: "" },
      page,
    );
    assert.equal(readdressed.status, 409);
    assert.match(readdressed.text, /last active full administrator/);
    const deleted = await browser.postForm(`${page}/delete`, { reason: "leaving" }, page);
    assert.equal(deleted.status, 403);
    assert.match(deleted.text, /your own record.*another administrator/s);
    const suspended = await browser.postForm(
      `${page}/status`,
      { version, status: "suspended", reason: "x" },
      page,
    );
    assert.equal(suspended.status, 403);
    assert.match(suspended.text, /your own status.*another administrator/s);
    assert.deepEqual(await snapshot(runtime, solo.memberId), before, "nothing was written");

    const kept = await browser.postForm(
      page,
      { version, name: "Solo Admin", email: solo.email, phone: "0123", address: "" },
      page,
    );
    assert.equal(kept.status, 303, `saving with the same email works: ${kept.text.slice(0, 300)}`);
  });

  test("[G03] not even an operator may delete, suspend or re-address the last full administrator; with a second one they may", async () => {
    const { runtime } = t.get();
    const solo = await runtime.database.db
      .selectFrom("members")
      .select(["id", "version"])
      .where("id", "=", (await soloAdmin()).memberId)
      .executeTakeFirstOrThrow();
    const env = runtime.actionEnv(operatorActor("alice"));
    const before = await snapshot(runtime, solo.id);
    await rejectsWith(
      runAction(env, deleteMember, { memberId: solo.id, reason: "oops", timeZone: "UTC" }),
      "last_full_admin",
    );
    await rejectsWith(
      runAction(env, changeMemberStatus, { memberId: solo.id, status: "suspended", reason: "oops" }),
      "last_full_admin",
    );
    await rejectsWith(
      runAction(env, updateMember, {
        memberId: solo.id,
        version: solo.version,
        changes: { email: "nobody@example.org" },
      }),
      "last_full_admin",
    );
    assert.deepEqual(await snapshot(runtime, solo.id), before, "nothing was written");

    // The lapse job leaves them active too, and says why.
    await runtime.database.db
      .updateTable("members")
      .set({ renewal_due_on: "2001-01-01" })
      .where("id", "=", solo.id)
      .execute();
    const run = await runJob(runtime, lapseJob);
    assert.equal(run.summary?.failed, 1);
    assert.match(run.summary?.detail ?? "", /last active full administrator/);
    assert.equal((await snapshot(runtime, solo.id)).member.status, "active");

    const second = await tokenMember(runtime, ["member"]);
    await runAction(system(runtime), grantRole, {
      memberId: second.memberId,
      roleKey: "full_admin",
      reason: "t",
    });
    const suspended = await runAction(env, changeMemberStatus, {
      memberId: solo.id,
      status: "suspended",
      reason: "two admins now",
    });
    assert.equal(suspended.status, "suspended");
    await rejectsWith(
      runAction(env, deleteMember, { memberId: second.memberId, reason: "oops", timeZone: "UTC" }),
      "last_full_admin",
    );
    assert.equal(await versionOf(runtime, second.memberId), 1);
  });
});

forEachEngine("member list queries and the export", (engine) => {
  const t = suiteApp(engine);
  afterEach(async () => {
    await runAction(t.get().runtime.actionEnv(operatorActor("cleanup")), setMode, {
      mode: "normal",
      reason: "test over",
    });
    await t.get().runtime.modes.refresh();
  });

  test("a repeated parameter, a NUL or an out-of-range limit in the member list or the directory is a 400, never a 500", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    for (const query of [
      "status=active&status=lapsed",
      "search=%00",
      "search=a&search=b",
      "tier=%00",
      "committee=%00",
      "sort=joined&sort=name",
      "limit=0",
      "limit=201",
      "limit=ten",
      `after=${"a".repeat(5000)}`,
    ]) {
      const json = await browser.get(`/api/v1/members?${query}`);
      assert.equal(json.status, 400, `/api/v1/members?${query}: ${json.text.slice(0, 200)}`);
      assert.equal(JSON.parse(json.text).error.code, "invalid_input");
      const html = await browser.get(`/admin/members?${query}`);
      assert.equal(html.status, 400, `/admin/members?${query}`);
      assert.doesNotMatch(html.text + json.text, /must match|must be|must NOT/, "said in words, not Ajv's");
    }
    // Each refusal names the field and what is wrong with it, the same words on the page and in JSON.
    for (const [query, words] of [
      ["search=%00", /"search" contains a character that cannot be stored/],
      ["status=active&status=lapsed", /"status" should be text, given once/],
      ["limit=201", /"limit" is out of range/],
    ] as const) {
      const json = JSON.parse((await browser.get(`/api/v1/members?${query}`)).text);
      assert.match(json.error.message, /^Some of what you sent in the address is not valid: /);
      assert.match(json.error.message, words, json.error.message);
      assert.match((await browser.get(`/admin/members?${query}`)).text.replaceAll("&quot;", '"'), words);
    }
    for (const query of ["q=%00", "q=a&q=b", "committee=%00", "committee=a&committee=b"]) {
      const res = await browser.get(`/directory?${query}`);
      assert.equal(res.status, 400, `/directory?${query}: ${res.text.slice(0, 200)}`);
    }
    assert.equal((await browser.get("/api/v1/members?limit=200&sort=joined&status=active")).status, 200);
    assert.equal(
      (await browser.get("/admin/members?search=&status=&tier=&committee=&sort=name")).status,
      200,
    );
    assert.equal((await browser.get("/directory?q=Test&committee=")).status, 200);
  });

  test("[G10] the export is an audited read: served in read-only mode on both addresses, each time with its audit entry", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const token = await tokenMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    await runAction(runtime.actionEnv(operatorActor("alice")), setMode, {
      mode: "read-only",
      reason: "drill",
    });
    await runtime.modes.refresh();
    const exported = async () =>
      runtime.database.db
        .selectFrom("audit_log")
        .select(["actor_id"])
        .where("action", "=", "member.exported")
        .orderBy("seq")
        .execute();
    const before = (await exported()).length;
    const page = await browser.get("/admin/members/export.csv");
    assert.equal(page.status, 200, page.text.slice(0, 200));
    assert.match(page.text, /^\uFEFF?name,email,phone/);
    const res = await fetch(`${baseUrl}/api/v1/members/export.csv`, {
      headers: { authorization: `Bearer ${token.token}` },
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), new RegExp(token.email));
    const entries = await exported();
    assert.deepEqual(
      entries.slice(before).map((e) => e.actor_id),
      [`member:${chair.memberId}`, `member:${token.memberId}`],
    );
  });
});
