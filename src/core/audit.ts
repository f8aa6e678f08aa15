import { type Kysely, sql, type Transaction } from "kysely";
import type { ActionEffect } from "./action.ts";
import { type Actor, actorRef } from "./actor.ts";
import type { DB } from "./db/schema.ts";
import { assertOutboxRoom } from "./outbox-bound.ts";

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

/** A message to send after commit (W-6), stored in the outbox with the action's audit entry. */
export interface OutboxDraft {
  topic: string;
  recipient?: string;
  subject?: string;
  body?: string;
  payload?: unknown;
  /** Optional mail (announcements): refused when the outbox is past its bound (C-2, outbox-bound.ts);
   * every other message is written whatever the depth, so core writes always commit. */
  optional?: boolean;
}

/** Who writes an entry, for SQL that writes its own (see AuditWritten): the clubos_audit_write arguments
 * that come from the action's context rather than from what it did. */
export interface AuditContext {
  /** The action's effect: the statement that writes the entry checks the mode for it (migration 0013). */
  effect: ActionEffect;
  /** Always taken: without it the sealer would seal past entries whose transactions are still open. */
  sealLock: true;
  actorType: string;
  actorId: string;
  requestId: string | null;
}

/** The audit context of an action's scope (for clubos_register and the like). */
export function auditContext(scope: AuditScope): AuditContext {
  const { actor } = scope;
  if (actor.type === "anonymous") throw new Error("An audited action needs an actor (G13).");
  return {
    effect: scope.effect,
    sealLock: true,
    actorType: actor.type,
    actorId: actorRef(actor),
    requestId: scope.requestId ?? null,
  };
}

/** Who acts, in which request, with what effect: what an audit entry needs from the action's scope. */
export interface AuditScope {
  actor: Actor;
  requestId: string | undefined;
  effect: ActionEffect;
  /** The outbox bound for optional mail (CLUBOS_OUTBOX_MAX_DEPTH); DEFAULT_OUTBOX_MAX_DEPTH if unset. */
  outboxMaxDepth?: number;
}

/** Inserts the action's one audit entry, and its outbox messages, inside its transaction, in one
 * statement (the audited write sits inside whatever locks the action holds, so round trips count),
 * through clubos_audit_write and clubos_outbox_write (migrations 0011, 0013): the one way entries are
 * written, whether from here or from a statement that writes its own. That statement also checks the
 * mode for the action's effect and refuses with a CB0xx SQLSTATE, which runAction turns into a message. */
export async function writeAuditEntry(
  trx: Transaction<DB>,
  scope: AuditScope,
  draft: AuditDraft,
  outbox: OutboxDraft[] = [],
): Promise<string> {
  const who = auditContext(scope);
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  const entry = sql`clubos_audit_write(${who.effect}, ${who.sealLock}, ${who.actorType}, ${who.actorId}, ${draft.action},
    ${draft.subjectType}, ${draft.subjectId}, ${json(draft.before)}::jsonb, ${json(draft.after)}::jsonb,
    ${draft.reason ?? null}, ${who.requestId})`;
  if (outbox.length === 0) {
    const { rows } = await sql<{ id: string }>`SELECT ${entry} AS id`.execute(trx);
    return rows[0]!.id;
  }
  await assertOutboxRoom(trx, outbox, scope.outboxMaxDepth);
  const messages = outbox.map((m) => ({
    topic: m.topic,
    recipient: m.recipient ?? null,
    subject: m.subject ?? null,
    body: m.body ?? null,
    payload: m.payload ?? {},
  }));
  const { rows } = await sql<{ id: string }>`WITH entry AS (SELECT ${entry} AS id)
    SELECT id, clubos_outbox_write(id, ${JSON.stringify(messages)}::jsonb) FROM entry`.execute(trx);
  return rows[0]!.id;
}

/** Fields a subject's audit entries changed after a given version (their after.changes, and status):
 * what a stale form or If-Match missed, for the 409 that names them (W-4). `actions` narrows the
 * entries read to those that carry such changes. */
export async function fieldsChangedSince(
  db: Kysely<DB>,
  subject: { type: string; id: string },
  version: number,
  actions?: string[],
): Promise<string[]> {
  let query = db
    .selectFrom("audit_log")
    .select("after")
    .where("subject_type", "=", subject.type)
    .where("subject_id", "=", subject.id)
    .where(sql`(after->>'version')::int`, ">", version);
  if (actions) query = query.where("action", "in", actions);
  const fields = new Set<string>();
  for (const row of await query.execute()) {
    const after = row.after as { changes?: Record<string, unknown>; status?: string } | null;
    for (const f of Object.keys(after?.changes ?? {})) fields.add(f);
    if (after?.status) fields.add("status");
  }
  return [...fields].sort();
}
