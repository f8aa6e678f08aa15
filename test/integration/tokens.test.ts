import assert from "node:assert/strict";
import { test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { capabilitiesOf } from "../../src/core/capabilities.ts";
import { ClubError } from "../../src/core/errors.ts";
import { createApiToken, revokeApiToken } from "../../src/domains/identity/identity.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { assertAuditAttributed, countRows, meWith, type Suite, sha256 } from "../helpers/identity.ts";

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const operatorEnv = (t: Suite) => t.get().runtime.actionEnv(operatorActor("test"));

forEachEngine("API tokens", (engine) => {
  const t = suiteApp(engine);

  test("[G03] a bearer token authenticates as its member with the member's capabilities", async () => {
    const member = await createMember(t.get().runtime, ["member", "events_chair"]);
    const { secret } = await runAction(operatorEnv(t), createApiToken, {
      memberEmail: member.email,
      name: "script",
    });
    assert.equal((await meWith(t.get().baseUrl, {})).status, 401, "no token, no entry");
    const me = await meWith(t.get().baseUrl, bearer(secret));
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.capabilities, capabilitiesOf(["member", "events_chair"]));
    assert.ok(me.body.capabilities?.includes("events:manage"));
    assert.equal((await meWith(t.get().baseUrl, bearer(`${secret}x`))).status, 401, "a wrong secret fails");
  });

  test("[G03] a token narrowed to events:register lists only that", async () => {
    const member = await createMember(t.get().runtime, ["member", "full_admin"]);
    const { secret } = await runAction(operatorEnv(t), createApiToken, {
      memberEmail: member.email,
      name: "registrations only",
      capabilities: ["events:register"],
    });
    const me = await meWith(t.get().baseUrl, bearer(secret));
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.capabilities, ["events:register"]);
  });

  test("[G03] a revoked token gets 401 at once", async () => {
    const member = await createMember(t.get().runtime);
    const { id, secret } = await runAction(operatorEnv(t), createApiToken, {
      memberEmail: member.email,
      name: "to revoke",
    });
    assert.equal((await meWith(t.get().baseUrl, bearer(secret))).status, 200);
    await runAction(operatorEnv(t), revokeApiToken, { id });
    const me = await meWith(t.get().baseUrl, bearer(secret));
    assert.equal(me.status, 401);
    assert.equal(me.body.error?.code, "unauthenticated");
  });

  test("a token's secret is stored only as its sha256 hash", async () => {
    const member = await createMember(t.get().runtime);
    const { id, secret } = await runAction(operatorEnv(t), createApiToken, {
      memberEmail: member.email,
      name: "stored",
    });
    const db = t.get().runtime.database.db;
    const row = await db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    assert.equal(row.token_hash, sha256(secret));
    const all = await db.selectFrom("api_tokens").selectAll().execute();
    assert.ok(!JSON.stringify(all).includes(secret), "the secret appears in no api_tokens column");
    const audit = await db.selectFrom("audit_log").selectAll().where("subject_id", "=", id).execute();
    assert.equal(audit.length, 1);
    assert.ok(!JSON.stringify(audit).includes(secret), "nor in its audit entry");
  });

  test("[G04] a token cannot be narrowed to capabilities its member does not hold", async () => {
    const member = await createMember(t.get().runtime, ["member"]);
    const tokensBefore = await countRows(t, "api_tokens");
    const auditBefore = await countRows(t, "audit_log");
    await assert.rejects(
      runAction(operatorEnv(t), createApiToken, {
        memberEmail: member.email,
        name: "too wide",
        capabilities: ["events:register", "system:operate"],
      }),
      (error) => error instanceof ClubError && error.code === "forbidden" && error.status === 403,
    );
    await assert.rejects(
      runAction(operatorEnv(t), createApiToken, {
        memberEmail: member.email,
        name: "unknown",
        capabilities: ["everything:all"],
      }),
      (error) => error instanceof ClubError && error.code === "invalid_input",
    );
    assert.equal(await countRows(t, "api_tokens"), tokensBefore, "no token was created");
    assert.equal(await countRows(t, "audit_log"), auditBefore);
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});
