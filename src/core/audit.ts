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

// BENCHMARK ONLY (bench/actions.bench.ts, variant A): lets the benchmark measure an audit entry
// without the shared seal lock. Never turn it off in a process that runs an AuditSealer: the sealer
// would then seal past entries whose transactions are still open and report them as inserted later.
let sealLockEnabled = true;

/** Benchmark only: turns the shared seal lock in writeAuditEntry off or back on (default on). */
export function setAuditSealLockForBenchmark(enabled: boolean): void {
  sealLockEnabled = enabled;
}

/** A message to send after commit (W-6), stored in the outbox with the action's audit entry. */
export interface OutboxDraft {
  topic: string;
  recipient?: string;
  subject?: string;
  body?: string;
  payload?: unknown;
}

/** Inserts the action's one audit entry, and its outbox messages, inside its transaction, in one
 * statement (the audited write sits inside whatever locks the action holds, so round trips count).
 * Writers hold the shared lock until commit so the sealer can tell when every lower seq is settled. */
export async function writeAuditEntry(
  trx: Transaction<DB>,
  actor: Actor,
  draft: AuditDraft,
  requestId: string | undefined,
  outbox: OutboxDraft[] = [],
): Promise<string> {
  if (actor.type === "anonymous") throw new Error("An audited action needs an actor (G13).");
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  const held = sealLockEnabled ? sql`SELECT pg_advisory_xact_lock_shared(${AUDIT_SEQ_LOCK})` : sql`SELECT 1`;
  const entry = sql`INSERT INTO audit_log (actor_type, actor_id, action, subject_type, subject_id, before, after, reason, request_id)
    SELECT ${actor.type}, ${actorRef(actor)}, ${draft.action}, ${draft.subjectType}, ${draft.subjectId},
      ${json(draft.before)}::jsonb, ${json(draft.after)}::jsonb, ${draft.reason ?? null}, ${requestId ?? null}
    FROM (${held}) AS held RETURNING id`;
  if (outbox.length === 0) {
    const { rows } = await sql<{ id: string }>`${entry}`.execute(trx);
    return rows[0]!.id;
  }
  const messages = outbox.map(
    (m) =>
      sql`(${m.topic}, ${m.recipient ?? null}, ${m.subject ?? null}, ${m.body ?? null}, ${JSON.stringify(m.payload ?? {})}::jsonb)`,
  );
  const { rows } = await sql<{ id: string }>`WITH entry AS (${entry})
    INSERT INTO outbox (topic, recipient, subject, body, payload, audit_id)
    SELECT m.topic, m.recipient, m.subject, m.body, m.payload, entry.id
    FROM entry, (VALUES ${sql.join(messages)}) AS m (topic, recipient, subject, body, payload)
    RETURNING audit_id AS id`.execute(trx);
  return rows[0]!.id;
}
