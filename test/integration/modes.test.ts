import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { Runtime } from "../../src/app/runtime.ts";
import { defineAction, runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { grantRole } from "../../src/domains/identity/identity.actions.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { setMode, setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";

// No publishing action exists yet; this stand-in has the effect the publish freeze must stop.
const publishSomething = defineAction({
  name: "testPublish",
  access: { capability: "system:operate" },
  effect: "publish",
  async run() {
    return { result: "published", audit: { action: "page.published", subjectType: "page", subjectId: "t" } };
  },
});

const count = async (runtime: Runtime, table: "audit_log" | "role_assignments") =>
  Number(
    (
      await runtime.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

const rejectsWith = (promise: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(promise, (error: { code?: string; message?: string }) => {
    assert.equal(error.code, code);
    if (message) assert.match(error.message ?? "", message);
    return true;
  });

/** Puts the mode and every switch back to normal, through the actions, and refreshes the watcher. */
async function backToNormal(runtime: Runtime): Promise<void> {
  const env = runtime.actionEnv(operatorActor("cleanup"));
  await runAction(env, setMode, { mode: "normal", reason: "test over" });
  for (const name of ["admin_freeze", "publish_freeze", "preview_off"]) {
    await runAction(env, setSwitch, { name, on: false, reason: "test over" });
  }
  await runtime.modes.refresh();
}

forEachEngine("modes and kill switches", (engine) => {
  const t = suiteApp(engine);
  afterEach(() => backToNormal(t.get().runtime));

  test("[G10] setMode and setSwitch are audited with actor and reason; a reason and a known name are required", async () => {
    const { runtime } = t.get();
    const env = runtime.actionEnv(operatorActor("alice"));
    await runAction(env, setMode, { mode: "read-only", reason: "  disk check  " });
    const modeEntry = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "system.mode_changed")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(modeEntry.actor_id, "operator:alice");
    assert.equal(modeEntry.reason, "disk check");
    assert.deepEqual(modeEntry.after, { mode: "read-only" });
    const state = await runtime.modes.refresh();
    assert.equal(state?.mode, "read-only");
    assert.equal(state?.changedBy, "operator:alice");

    await runAction(env, setSwitch, { name: "admin_freeze", on: true, reason: "suspected compromise" });
    const switchEntry = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "system.switch_changed")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(switchEntry.actor_id, "operator:alice");
    assert.equal(switchEntry.reason, "suspected compromise");
    assert.deepEqual(switchEntry.after, { admin_freeze: true });

    const before = await count(runtime, "audit_log");
    await rejectsWith(runAction(env, setMode, { mode: "normal", reason: "   " }), "invalid_input");
    await rejectsWith(runAction(env, setMode, { mode: "panic", reason: "why not" }), "invalid_input");
    await rejectsWith(
      runAction(env, setSwitch, { name: "admin_freeze", on: false, reason: "" }),
      "invalid_input",
    );
    await rejectsWith(
      runAction(env, setSwitch, { name: "site_off", on: true, reason: "x" }),
      "invalid_input",
    );
    assert.equal(await count(runtime, "audit_log"), before, "refused changes leave no audit entry");
    const after = await runtime.modes.refresh();
    assert.equal(after?.mode, "read-only");
    assert.equal(after?.adminFreeze, true);
  });

  test("[G10] while not normal every page shows a banner naming the reason, and it goes away after", async () => {
    const { runtime, baseUrl } = t.get();
    const client = new Client(baseUrl);
    for (const path of ["/", "/login"]) {
      assert.doesNotMatch((await client.get(path)).text, /class="banner"/, `${path} in normal mode`);
    }
    const env = runtime.actionEnv(operatorActor("alice"));
    await runAction(env, setMode, { mode: "read-only", reason: "storm drill 42" });
    await runtime.modes.refresh();
    for (const path of ["/", "/login"]) {
      const page = await client.get(path);
      assert.equal(page.status, 200);
      assert.match(page.text, /class="banner"[^>]*>[^<]*read-only mode[^<]*Reason: storm drill 42/, path);
    }
    await runAction(env, setMode, { mode: "normal", reason: "drill over" });
    await runAction(env, setSwitch, { name: "publish_freeze", on: true, reason: "bad page went out" });
    await runtime.modes.refresh();
    assert.match((await client.get("/")).text, /publishing is frozen\. Reason: bad page went out/);
    await runAction(env, setSwitch, { name: "publish_freeze", on: false, reason: "fixed" });
    await runtime.modes.refresh();
    assert.doesNotMatch((await client.get("/login")).text, /class="banner"/, "reversible without restart");
  });

  test("[G10] maintenance mode refuses writes at the route and in runAction", async () => {
    const { runtime, baseUrl } = t.get();
    const member = await createMember(runtime, ["member"]);
    const client = new Client(baseUrl);
    assert.equal((await client.login(member.email, member.password)).status, 303);
    await runAction(runtime.actionEnv(operatorActor("alice")), setMode, {
      mode: "maintenance",
      reason: "upgrading disks",
    });
    await runtime.modes.refresh();
    const before = await count(runtime, "audit_log");
    const res = await client.postForm("/account/password", {
      current: member.password,
      password: "a brand new passphrase",
      confirm: "a brand new passphrase",
    });
    assert.equal(res.status, 503);
    assert.match(res.text, /under maintenance/, "the page's banner says why");
    assert.match(res.text, /upgrading disks/);
    await rejectsWith(
      runAction(runtime.actionEnv(operatorActor("alice")), createMemberRecord, {
        name: "New Person",
        email: `new-${Date.now()}@example.org`,
      }),
      "read_only",
      /ClubOS is under maintenance, so nothing can be changed right now: upgrading disks\./,
    );
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    assert.match(metrics, /clubos_actions_total\{action="createMemberRecord",outcome="refused"\} [1-9]/);
    assert.equal(await count(runtime, "audit_log"), before, "nothing was written");
  });

  test("[G10] admin_freeze refuses admin actions but not member writes; publish_freeze refuses publishing; both reversible", async () => {
    const { runtime, baseUrl } = t.get();
    const env = runtime.actionEnv(operatorActor("alice"));
    const target = await createMember(runtime, ["member"]);
    const member = await createMember(runtime, ["member"]);
    await runAction(env, setSwitch, { name: "admin_freeze", on: true, reason: "suspected compromise" });
    await runtime.modes.refresh();

    const assignments = await count(runtime, "role_assignments");
    const grant = { memberId: target.memberId, roleKey: "web_editor", reason: "needs it" };
    await rejectsWith(
      runAction(env, grantRole, grant),
      "frozen",
      /^Admin changes are frozen by an operator: suspected compromise\./,
    );
    assert.equal(await count(runtime, "role_assignments"), assignments, "no role was granted");
    assert.equal(await runAction(env, publishSomething, {}), "published", "admin_freeze spares publishing");

    const client = new Client(baseUrl);
    assert.equal((await client.login(member.email, member.password)).status, 303);
    const changed = await client.postForm("/account/password", {
      current: member.password,
      password: "another long passphrase",
      confirm: "another long passphrase",
    });
    assert.equal(changed.status, 303, "an ordinary member write still works under admin_freeze");

    await runAction(env, setSwitch, { name: "admin_freeze", on: false, reason: "all clear" });
    await runAction(env, setSwitch, { name: "publish_freeze", on: true, reason: "bad page went out" });
    await rejectsWith(runAction(env, publishSomething, {}), "frozen", /^Publishing changes are frozen/);
    const granted = await runAction(env, grantRole, grant);
    assert.equal(granted.role_key, "web_editor", "admin_freeze off again: admin actions work");

    await runAction(env, setSwitch, { name: "publish_freeze", on: false, reason: "fixed" });
    assert.equal(await runAction(env, publishSomething, {}), "published", "publish_freeze off again");
  });
});
