import assert from "node:assert/strict";
import { defineAction, runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import {
  bootstrapAdmin,
  createApiToken,
  endRoleAssignment,
} from "../../src/domains/identity/identity.actions.ts";
import { createMember, type TestApp } from "./app.ts";
import { sealAll } from "./audit.ts";
import { Client } from "./http.ts";

/** An action that queues one outbox message, so the outbox has a row to check. */
const queueMessage = defineAction({
  name: "testQueueMessage",
  access: { capability: "members:write" },
  effect: "write",
  async run() {
    return {
      result: null,
      audit: { action: "test.queued", subjectType: "test", subjectId: "outbox" },
      outbox: [{ topic: "test.queued", recipient: "someone@example.org" }],
    };
  },
});

/** The ids of the rows seedScannedRows made. */
export type ScannedRows = Record<
  "adminId" | "memberId" | "accountId" | "sessionId" | "tokenId" | "activeId" | "endedId" | "outboxId",
  string
> & { outboxSeq: number; firstSeq: number; secondSeq: number };

/** One of everything the invariant checks look at, made the ordinary way (actions, a real login):
 * a bootstrapped admin, a member with an account, a session, an API token, an active and an ended
 * role assignment, an outbox message, and a sealed audit chain. */
export async function seedScannedRows(app: TestApp): Promise<ScannedRows> {
  const { runtime, baseUrl } = app;
  const env = runtime.actionEnv(operatorActor("test-admin"));
  const admin = await runAction(env, bootstrapAdmin, {
    email: `admin-${app.engine}@example.org`,
    name: "Admin",
  });
  const member = await createMember(runtime, ["member", "events_chair"]);
  assert.equal((await new Client(baseUrl).login(member.email, member.password)).status, 303);
  const token = await runAction(env, createApiToken, { memberEmail: member.email, name: "scanner test" });
  const d = runtime.database.db;
  const roles = await d
    .selectFrom("role_assignments")
    .selectAll()
    .where("member_id", "=", member.memberId)
    .execute();
  const ended = roles.find((r) => r.role_key === "events_chair")!;
  await runAction(env, endRoleAssignment, { assignmentId: ended.id, reason: "term over" });
  await runAction(env, queueMessage, undefined);
  const account = await d
    .selectFrom("accounts")
    .select("id")
    .where("member_id", "=", member.memberId)
    .executeTakeFirstOrThrow();
  const session = await d
    .selectFrom("sessions")
    .select("id")
    .where("account_id", "=", account.id)
    .executeTakeFirstOrThrow();
  const outbox = await d
    .selectFrom("outbox")
    .innerJoin("audit_log", "audit_log.id", "outbox.audit_id")
    .select(["outbox.id", "audit_log.seq"])
    .executeTakeFirstOrThrow();
  await sealAll(runtime.database, runtime.config.backupDir);
  const sealed = await d.selectFrom("audit_chain").select("seq").orderBy("seq").limit(2).execute();
  return {
    adminId: admin.memberId,
    memberId: member.memberId,
    accountId: account.id,
    sessionId: session.id,
    tokenId: token.id,
    activeId: roles.find((r) => r.role_key === "member")!.id,
    endedId: ended.id,
    outboxId: outbox.id,
    outboxSeq: Number(outbox.seq),
    firstSeq: Number(sealed[0]!.seq),
    secondSeq: Number(sealed[1]!.seq),
  };
}
