import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import type { Actor } from "../../src/core/actor.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { capabilitiesOf } from "../../src/core/capabilities.ts";
import { stateUnknown } from "../../src/core/errors.ts";
import { changeOwnPassword, grantRole, startSession } from "../../src/domains/identity/identity.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";

const auditCount = async (runtime: Runtime) =>
  Number(
    (
      await runtime.database.db
        .selectFrom("audit_log")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

const passwordHash = async (runtime: Runtime, memberId: string) =>
  (
    await runtime.database.db
      .selectFrom("accounts")
      .select(["id", "password_hash"])
      .where("member_id", "=", memberId)
      .executeTakeFirstOrThrow()
  ).password_hash;

/** Hides the system_state table while fn runs, so the mode cannot be read; always puts it back. */
async function withStateUnreadable(runtime: Runtime, fn: () => Promise<void>): Promise<void> {
  await sql`ALTER TABLE system_state RENAME TO system_state_gone`.execute(runtime.database.db);
  try {
    assert.equal(await runtime.modes.refresh(), null, "the watcher must notice the state is unreadable");
    await fn();
  } finally {
    await sql`ALTER TABLE system_state_gone RENAME TO system_state`.execute(runtime.database.db);
    await runtime.modes.refresh();
  }
}

forEachEngine("writes when the mode cannot be read", (engine) => {
  const t = suiteApp(engine);

  test("[G10] a write route answers 503 state_unavailable and writes nothing while the mode is unreadable", async () => {
    const { runtime, baseUrl } = t.get();
    const member = await createMember(runtime, ["member"]);
    const client = new Client(baseUrl);
    assert.equal((await client.login(member.email, member.password)).status, 303);
    const csrf = await client.csrf();
    assert.ok(csrf);
    const hashBefore = await passwordHash(runtime, member.memberId);
    const refusalsBefore = await refusals(baseUrl);
    await withStateUnreadable(runtime, async () => {
      const before = await auditCount(runtime);
      const res = await client.request("POST", "/account/password", {
        form: {
          _csrf: csrf,
          current: member.password,
          password: "a brand new passphrase",
          confirm: "a brand new passphrase",
        },
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "30");
      assert.ok(res.text.includes(stateUnknown().message), "the state_unavailable message is shown");
      assert.match(res.text, /cannot read its operating mode/, "the banner says why");
      assert.equal(await auditCount(runtime), before);
    });
    assert.equal(await passwordHash(runtime, member.memberId), hashBefore, "the password did not change");
    assert.equal(await refusals(baseUrl), refusalsBefore + 1, "refused with code state_unavailable");
  });

  test("[G10] runAction refuses write and admin actions with state_unavailable; recovery actions still run", async () => {
    const { runtime } = t.get();
    const member = await createMember(runtime, ["member"]);
    const other = await createMember(runtime, ["member"]);
    const account = await runtime.database.db
      .selectFrom("accounts")
      .select("id")
      .where("member_id", "=", member.memberId)
      .executeTakeFirstOrThrow();
    const actor: Actor = {
      type: "member",
      memberId: member.memberId,
      name: "Test Member",
      capabilities: new Set(capabilitiesOf(["member"])),
    };
    const hashBefore = await passwordHash(runtime, member.memberId);
    await withStateUnreadable(runtime, async () => {
      const before = await auditCount(runtime);
      const refused = (error: { code?: string }) => error.code === "state_unavailable";
      await assert.rejects(
        runAction(runtime.actionEnv(actor), changeOwnPassword, {
          current: member.password,
          password: "a brand new passphrase",
          confirm: "a brand new passphrase",
          absoluteHours: 1,
          ip: "127.0.0.1",
        }),
        refused,
      );
      await assert.rejects(
        runAction(runtime.actionEnv(operatorActor("alice")), grantRole, {
          memberId: other.memberId,
          roleKey: "web_editor",
          reason: "needs it",
        }),
        refused,
      );
      assert.equal(await auditCount(runtime), before, "nothing was written");
      // Logging in is a recovery action: the way back in must not depend on the mode being readable.
      const session = await runAction(runtime.actionEnv(actor), startSession, {
        accountId: account.id,
        absoluteHours: 1,
        ip: "127.0.0.1",
      });
      assert.ok(session.token);
      assert.equal(
        await auditCount(runtime),
        before + 1,
        "the recovery action committed with its audit entry",
      );
    });
    assert.equal(await passwordHash(runtime, member.memberId), hashBefore);
  });
});

/** The state_unavailable refusals counted so far, read from /metrics (the tests call it from loopback). */
async function refusals(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('clubos_refusals_total{code="state_unavailable"}'));
  return line ? Number(line.split(" ").pop()) : 0;
}
