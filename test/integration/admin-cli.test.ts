import assert from "node:assert/strict";
import { test } from "node:test";
import { suiteApp } from "../helpers/app.ts";
import { runVerb } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { assertAuditAttributed, countRows, type Suite } from "../helpers/identity.ts";

/** Runs a clubos verb against the suite's runtime, collecting what it prints. */
const clubos = (t: Suite, ...argv: string[]) => runVerb(t.get().runtime, ...argv);

const passwordIn = (output: string) => output.match(/One-time password \(shown only now\): (\S+)/)?.[1];

forEachEngine("clubos admin create", (engine) => {
  const t = suiteApp(engine);
  const email = "chair@example.org";

  test("[G13] --actor is required: without it (or blank) the verb fails and writes nothing", async () => {
    const members = await countRows(t, "members");
    const audit = await countRows(t, "audit_log");
    const missing = await clubos(t, "admin", "create", "--email", email, "--name", "Chair");
    assert.notEqual(missing.code, 0);
    assert.match(missing.output, /--actor/);
    const blank = await clubos(t, "admin", "create", "--email", email, "--name", "Chair", "--actor", " ");
    assert.notEqual(blank.code, 0);
    assert.match(blank.output, /operator name is required/);
    assert.equal(await countRows(t, "members"), members);
    assert.equal(await countRows(t, "audit_log"), audit);
  });

  test("it prints a one-time password once; the account logs in with it and must change it", async () => {
    const { code, output } = await clubos(
      t,
      "admin",
      "create",
      "--email",
      email,
      "--name",
      "Chair",
      "--actor",
      "ops",
    );
    assert.equal(code, 0, output);
    const password = passwordIn(output);
    assert.ok(password, output);
    assert.equal(output.split(password).length - 1, 1, "the password is printed exactly once");
    const db = t.get().runtime.database.db;
    const audit = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "admin.bootstrapped")
      .execute();
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor_id, "operator:ops");
    assert.ok(!JSON.stringify(audit).includes(password), "the password is not kept in the audit log");
    const client = new Client(t.get().baseUrl);
    const login = await client.login(email, password);
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/account/password");
    const me = await client.get("/api/v1/me");
    assert.equal(me.status, 403);
    assert.equal(JSON.parse(me.text).error.code, "password_change_required");
  });

  test("running it again recovers access: a new one-time password, the old sessions end", async () => {
    const { baseUrl } = t.get();
    const first = passwordIn(
      (await clubos(t, "admin", "create", "--email", email, "--name", "Chair", "--actor", "ops")).output,
    );
    assert.ok(first);
    const before = new Client(baseUrl);
    assert.equal((await before.login(email, first)).status, 303);
    assert.equal((await before.get("/account/password")).status, 200, "the old session works");
    const again = await clubos(t, "admin", "create", "--email", email, "--name", "Chair", "--actor", "ops");
    assert.equal(again.code, 0, again.output);
    const second = passwordIn(again.output);
    assert.ok(second && second !== first, "a new one-time password");
    assert.equal((await before.get("/api/v1/me")).status, 401, "the old session ended");
    assert.equal((await new Client(baseUrl).login(email, first)).status, 401, "the old password is gone");
    const after = new Client(baseUrl);
    const login = await after.login(email, second);
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/account/password", "still forced to change it");
    const member = await t
      .get()
      .runtime.database.db.selectFrom("members")
      .select("id")
      .where("email", "=", email)
      .execute();
    assert.equal(member.length, 1, "recovery reuses the member, it does not create another");
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});
