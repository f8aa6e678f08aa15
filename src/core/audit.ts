import { sql, type Transaction } from "kysely";
import { type Actor, actorRef } from "./actor.ts";
import type { DB } from "./db/schema.ts";

/** What an action says about itself; runAction adds actor, request id and time. */
export interface AuditDraft {
  action: string;
  subjectType: string;
  subjectId: string;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

/** Advisory lock key shared by audit writers and taken exclusively by the sealer to find its horizon. */
export const AUDIT_SEQ_LOCK = 7_204_001;

/** Inserts the action's one audit entry inside its transaction; returns the entry's id.
 * Writers hold the shared lock until commit so the sealer can tell when every lower seq is settled. */
export async function writeAuditEntry(
  trx: Transaction<DB>,
  actor: Actor,
  draft: AuditDraft,
  requestId: string | undefined,
): Promise<string> {
  if (actor.type === "anonymous") throw new Error("An audited action needs an actor (G13).");
  await sql`SELECT pg_advisory_xact_lock_shared(${AUDIT_SEQ_LOCK})`.execute(trx);
  const row = await trx
    .insertInto("audit_log")
    .values({
      actor_type: actor.type,
      actor_id: actorRef(actor),
      action: draft.action,
      subject_type: draft.subjectType,
      subject_id: draft.subjectId,
      before: draft.before === undefined ? null : JSON.stringify(draft.before),
      after: draft.after === undefined ? null : JSON.stringify(draft.after),
      reason: draft.reason ?? null,
      request_id: requestId ?? null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
