import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { type Actor, anonymousActor, operatorActor, systemActor } from "../../src/core/actor.ts";
import { capabilitiesOf, type RoleKey } from "../../src/core/capabilities.ts";
import { appointToCommittee, endCommitteeTerm } from "../../src/domains/committees/committees.actions.ts";
import { canManageEvent } from "../../src/domains/events/events.policies.ts";
import { changeMemberStatus } from "../../src/domains/members/members.actions.ts";
import { setMode, setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { apiPost, publishedEvent, tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

let serial = 0;

/** The actor a signed-in member with these roles is. */
const memberActor = (memberId: string, roles: RoleKey[] = ["member"]): Actor => ({
  type: "member",
  memberId,
  name: "m",
  capabilities: new Set(capabilitiesOf(roles)),
});

async function committee(admin: { token: string }, baseUrl: string, name: string) {
  const res = await apiPost(baseUrl, admin.token, "/api/v1/committees", { name: `${name} ${++serial}` });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

/** An event belonging to a committee (the events helper sets committee_id; here it is a fixture). */
async function eventOf(runtime: Runtime, committeeId: string | null) {
  const event = await publishedEvent(runtime);
  await runtime.database.db
    .updateTable("events")
    .set({ committee_id: committeeId })
    .where("id", "=", event.id)
    .execute();
  return event.id;
}

const appoint = (runtime: Runtime, input: Record<string, unknown>) =>
  runAction(runtime.actionEnv(systemActor("test")), appointToCommittee, {
    timeZone: runtime.config.timeZone,
    role: "chair",
    ...input,
  } as Parameters<typeof appointToCommittee.run>[1]);

forEachEngine("committees and committee chairs", (engine) => {
  const t = suiteApp(engine);
  afterEach(async () => {
    const env = t.get().runtime.actionEnv(operatorActor("cleanup"));
    await runAction(env, setMode, { mode: "normal", reason: "test over" });
    await runAction(env, setSwitch, { name: "admin_freeze", on: false, reason: "test over" });
    await t.get().runtime.modes.refresh();
  });

  test("[G04] creating a committee, appointing and ending a term are each audited with actor and reason", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const person = await tokenMember(runtime);
    const id = await committee(admin, baseUrl, "Social");
    const term = await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/appointments`, {
      memberId: person.memberId,
      role: "chair",
      reason: "elected at the AGM",
    });
    assert.equal(term.status, 201, JSON.stringify(term.body));
    assert.equal(term.body.grantedBy, `member:${admin.memberId}`);
    const ended = await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/terms/${term.body.id}/end`, {
      reason: "stepped down",
    });
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    assert.equal(ended.body.endedBy, `member:${admin.memberId}`);
    const audit = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where((eb) => eb.or([eb("subject_id", "=", id), eb("subject_id", "=", term.body.id as string)]))
      .orderBy("seq")
      .execute();
    assert.deepEqual(
      audit.map((a) => a.action),
      ["committee.created", "committee.appointed", "committee.term_ended"],
    );
    for (const a of audit) assert.equal(a.actor_id, `member:${admin.memberId}`);
    assert.equal((audit[1]!.after as { role: string }).role, "chair");
    assert.equal(audit[1]!.reason, "elected at the AGM");
    assert.equal(audit[2]!.reason, "stepped down");
    const again = await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/terms/${term.body.id}/end`, {
      reason: "twice",
    });
    assert.equal(again.status, 409, "an ended term cannot end again");
  });

  test("[G04] appointing a chair needs roles:grant and events:manage; a membership chair may appoint members only", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const chairOfMembership = await tokenMember(runtime, ["member", "membership_chair"]);
    const person = await tokenMember(runtime);
    const id = await committee(admin, baseUrl, "Garden");
    const refused = await apiPost(baseUrl, chairOfMembership.token, `/api/v1/committees/${id}/appointments`, {
      memberId: person.memberId,
      role: "chair",
    });
    assert.equal(refused.status, 403);
    assert.equal((refused.body.error as { code: string }).code, "grant_exceeds_own");
    const rows = await runtime.database.db
      .selectFrom("committee_memberships")
      .select("id")
      .where("committee_id", "=", id)
      .execute();
    assert.equal(rows.length, 0, "a refused appointment writes nothing");
    const ok = await apiPost(baseUrl, chairOfMembership.token, `/api/v1/committees/${id}/appointments`, {
      memberEmail: person.email,
      role: "member",
    });
    assert.equal(ok.status, 201);
    const overlap = await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/appointments`, {
      memberId: person.memberId,
      role: "chair",
    });
    assert.equal(overlap.status, 409, "two overlapping terms for one member are refused");
  });

  test("a current chair of committee A may manage A's events, not B's, nor events without a committee", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const a = await committee(admin, baseUrl, "A");
    const b = await committee(admin, baseUrl, "B");
    const [eventA, eventB, eventNone] = [
      await eventOf(runtime, a),
      await eventOf(runtime, b),
      await eventOf(runtime, null),
    ];
    const chair = await tokenMember(runtime);
    const plain = await tokenMember(runtime);
    await appoint(runtime, { committeeId: a, memberId: chair.memberId, role: "chair" });
    await appoint(runtime, { committeeId: a, memberId: plain.memberId, role: "member" });
    const db = runtime.database.db;
    assert.equal(await canManageEvent(db, memberActor(chair.memberId), eventA), true);
    assert.equal(await canManageEvent(db, memberActor(chair.memberId), eventB), false);
    assert.equal(await canManageEvent(db, memberActor(chair.memberId), eventNone), false);
    assert.equal(
      await canManageEvent(db, memberActor(plain.memberId), eventA),
      false,
      "members are not chairs",
    );
    assert.equal(await canManageEvent(db, memberActor(chair.memberId), "not-a-uuid"), false);
    assert.equal(await canManageEvent(db, anonymousActor, eventA), false);
    const eventsChair = memberActor(plain.memberId, ["member", "events_chair"]);
    assert.equal(await canManageEvent(db, eventsChair, eventB), true, "events:manage is global");
    // A chair whose membership lapses loses the chair's rights with it.
    await runAction(runtime.actionEnv(systemActor("test")), changeMemberStatus, {
      memberId: chair.memberId,
      status: "lapsed",
      reason: "test",
    });
    assert.equal(await canManageEvent(db, memberActor(chair.memberId), eventA), false);
  });

  test("terms that ended or have not started give no chair rights; ending a term takes them away at once", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const id = await committee(admin, baseUrl, "Racing");
    const event = await eventOf(runtime, id);
    const db = runtime.database.db;
    const future = await tokenMember(runtime);
    const past = await tokenMember(runtime);
    const current = await tokenMember(runtime);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const upcoming = await appoint(runtime, {
      committeeId: id,
      memberId: future.memberId,
      startsAt: tomorrow,
    });
    await appoint(runtime, {
      committeeId: id,
      memberId: past.memberId,
      startsAt: "2020-01-01",
      endsAt: "2020-12-31",
    });
    const now = await appoint(runtime, { committeeId: id, memberId: current.memberId });
    assert.equal(await canManageEvent(db, memberActor(future.memberId), event), false, "not started yet");
    assert.equal(await canManageEvent(db, memberActor(past.memberId), event), false, "ended");
    assert.equal(await canManageEvent(db, memberActor(current.memberId), event), true);

    const env = runtime.actionEnv(systemActor("test"));
    await runAction(env, endCommitteeTerm, { committeeId: id, termId: now.id, reason: "resigned" });
    assert.equal(await canManageEvent(db, memberActor(current.memberId), event), false, "ended now");
    const cancelled = await runAction(env, endCommitteeTerm, {
      committeeId: id,
      termId: upcoming.id,
      reason: "withdrew",
    });
    assert.equal(
      new Date(cancelled.ends_at!).getTime(),
      new Date(cancelled.starts_at).getTime(),
      "cancelled before it began",
    );
    const view = await fetch(`${baseUrl}/api/v1/committees/${id}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    const terms = ((await view.json()) as { terms: { memberId: string; state: string }[] }).terms;
    assert.deepEqual(Object.fromEntries(terms.map((x) => [x.memberId, x.state])), {
      [future.memberId]: "ended",
      [past.memberId]: "ended",
      [current.memberId]: "ended",
    });
  });

  test("bad input to the committees API is a 400 and writes nothing, never a 500", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const person = await tokenMember(runtime);
    const id = await committee(admin, baseUrl, "Inputs");
    const before = await runtime.database.db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const bad = [
      await apiPost(baseUrl, admin.token, "/api/v1/committees", { name: "Nul\u0000name" }),
      await apiPost(baseUrl, admin.token, "/api/v1/committees", { name: "x".repeat(201) }),
      await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/appointments`, {
        memberId: "not-a-uuid",
        role: "member",
      }),
      await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/appointments`, {
        memberId: person.memberId,
        role: "treasurer",
      }),
      await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/appointments`, {
        memberId: person.memberId,
        role: "member",
        startsAt: "next tuesday",
      }),
      await apiPost(baseUrl, admin.token, `/api/v1/committees/${id}/terms/${id}/end`, { reason: "" }),
    ];
    for (const res of bad) {
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body.error as { code: string }).code, "invalid_input");
    }
    const after = await runtime.database.db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.n), Number(before.n), "nothing was written");
  });

  test("[G10] committee writes are refused under the admin freeze and in read-only mode, writing nothing", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const ops = runtime.actionEnv(operatorActor("alice"));
    await runAction(ops, setSwitch, { name: "admin_freeze", on: true, reason: "investigating" });
    const frozen = await apiPost(baseUrl, admin.token, "/api/v1/committees", { name: "Frozen committee" });
    assert.equal(frozen.status, 503);
    await runAction(ops, setSwitch, { name: "admin_freeze", on: false, reason: "done" });
    await runAction(ops, setMode, { mode: "read-only", reason: "disk" });
    const readOnly = await apiPost(baseUrl, admin.token, "/api/v1/committees", { name: "Frozen committee" });
    assert.equal(readOnly.status, 503);
    const rows = await runtime.database.db
      .selectFrom("committees")
      .select("id")
      .where("name", "=", "Frozen committee")
      .execute();
    assert.equal(rows.length, 0);
  });

  test("admins work with committees in the browser: create, appoint by email, end a term; the directory filters by committee", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await createMember(runtime, ["member", "full_admin"], "Admin Person");
    const serving = await createMember(runtime, ["member"], "Serving Person");
    const former = await createMember(runtime, ["member"], "Former Person");
    const browser = new Client(baseUrl);
    await browser.login(admin.email, admin.password);
    const list = await browser.get("/admin/committees");
    assert.equal(list.status, 200);
    const token = (html: string, action: string) =>
      html.match(new RegExp(`action="${action}">[\\s\\S]*?name="_form" value="([^"]+)"`))?.[1] ?? "";
    const name = `Boats ${++serial}`;
    const created = await browser.postForm(
      "/admin/committees",
      { name, _form: token(list.text, "/admin/committees") },
      "/admin/committees",
    );
    assert.equal(created.status, 303);
    const page = created.headers.get("location")!.replace(/\?.*/, "");
    const id = page.split("/").at(-1)!;
    for (const who of [serving, former]) {
      const html = (await browser.get(page)).text;
      const res = await browser.postForm(
        `${page}/appoint`,
        {
          email: who.email,
          role: "member",
          starts_on: "",
          ends_on: "",
          _form: token(html, `${page}/appoint`),
        },
        page,
      );
      assert.equal(res.status, 303);
    }
    const formerTerm = await runtime.database.db
      .selectFrom("committee_memberships as cm")
      .innerJoin("members as m", "m.id", "cm.member_id")
      .select("cm.id")
      .where("m.email", "=", former.email)
      .executeTakeFirstOrThrow();
    const html = (await browser.get(page)).text;
    assert.match(html, /Serving Person/);
    const endAction = `${page}/terms/${formerTerm.id}/end`;
    const ended = await browser.postForm(
      endAction,
      { reason: "moved away", _form: token(html, endAction) },
      page,
    );
    assert.equal(ended.status, 303);

    const directory = await browser.get(`/directory?committee=${id}`);
    assert.equal(directory.status, 200);
    assert.match(directory.text, /Serving Person/);
    assert.doesNotMatch(directory.text, /Former Person/, "ended terms are not serving");
    assert.doesNotMatch(directory.text, /Admin Person/, "not on the committee");
    assert.match(
      (await browser.get("/directory")).text,
      /Admin Person/,
      "without the filter everyone is listed",
    );
    assert.doesNotMatch((await browser.get("/directory?committee=nonsense")).text, /Serving Person/);
  });
});
