import { type Kysely, sql } from "kysely";
import type { DB } from "./db/schema.ts";
import { CORE_ERRORS } from "./errors.ts";

/** The outbox bound (C-2: every queue has a bound) when CLUBOS_OUTBOX_MAX_DEPTH is not set. */
export const DEFAULT_OUTBOX_MAX_DEPTH = 10_000;

/** Messages waiting to be sent: what the bound counts. */
export async function outboxDepth(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::integer AS n FROM outbox WHERE status = 'pending'`.execute(db);
  return rows[0]?.n ?? 0;
}

/** The one rule of the bound: a batch holding optional mail (OutboxDraft.optional, e.g. announcements)
 * is refused once the waiting messages reach the bound; core mail (confirmations, cancellations) is
 * never refused, so the action that writes it always commits. Checked in the action's transaction, so
 * the refusal rolls the whole action back with a clear message. */
export async function assertOutboxRoom(
  db: Kysely<DB>,
  messages: readonly { optional?: boolean }[],
  maxDepth: number = DEFAULT_OUTBOX_MAX_DEPTH,
): Promise<void> {
  if (!messages.some((m) => m.optional)) return;
  const depth = await outboxDepth(db);
  if (depth + messages.length > maxDepth) {
    throw CORE_ERRORS.outbox_full(
      `${depth} messages are already waiting to be sent (the limit is ${maxDepth}), so this optional mail was not queued and nothing was changed. Try again once the queue has drained; see the outbox page for why mail is not going out.`,
    );
  }
}
