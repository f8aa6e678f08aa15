import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";

/** The outbox: written only through clubos_outbox_write, with its audit entry; delivered by the mail
 * worker (mail.worker.ts), which claims due messages with a lease and records each attempt here. */

/** The statuses an outbox message can have (the table's CHECK, migration 0016): pending (waiting or
 * claimed), sent (the server accepted it), held (kept in the local mailbox: no mail server configured),
 * dead (dead letter: an admin may retry it), failed (before 0016), cancelled. */
export const OUTBOX_STATUSES = ["pending", "sent", "held", "dead", "failed", "cancelled"] as const;

/** What the local mailbox says about a held message. */
export const HELD_NOTE = "not sent: no mail server configured";
/** One outbox status. */
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** Filters of the outbox page. */
export interface OutboxFilter {
  topic?: string;
  status?: OutboxStatus;
}

/** A page of messages, newest first. Keyset paging on (created_at, id): `before` is the id of the last
 * message of the previous page, whose time is read back from its row at full precision. */
export function listOutboxMessages(
  db: Kysely<DB>,
  filter: OutboxFilter,
  before: string | undefined,
  limit: number,
) {
  let query = db
    .selectFrom("outbox")
    .select(["id", "topic", "recipient", "subject", "status", "created_at"])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit);
  if (filter.topic) query = query.where("topic", "=", filter.topic);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (before)
    query = query.where(
      sql`(created_at, id)`,
      "<",
      sql`(SELECT o.created_at, o.id FROM outbox o WHERE o.id = ${before}::uuid)`,
    );
  return query.execute();
}

/** One message with its body and delivery state; undefined for an unknown or malformed id. */
export function findOutboxMessage(db: Kysely<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirst();
}

/** A message a worker claimed. */
export interface ClaimedMessage {
  id: string;
  recipient: string | null;
  subject: string | null;
  body: string | null;
  attempts: number;
  message_id: string;
  /** The message's own headers and HTML part, if its payload has them (announcements). */
  headers: Record<string, unknown> | null;
  html: string | null;
  /** Why the recipient is marked undeliverable, if they are (read with the claim: one query a batch). */
  undeliverable: string | null;
}

/** Claims up to `limit` due messages for `worker` until the lease ends (I-3): FOR UPDATE SKIP LOCKED, so
 * concurrent workers never take the same row, and a lease, so a crashed worker's claims come back once
 * it ends. Each claimed row gets its stable Message-ID (kept across retries) at the sender's domain. */
export async function claimDueMessages(
  db: Kysely<DB>,
  claim: { worker: string; limit: number; leaseMs: number; domain: string },
): Promise<ClaimedMessage[]> {
  const { rows } = await sql<ClaimedMessage>`
    UPDATE outbox o
    SET claimed_by = ${claim.worker},
        lease_until = now() + ${claim.leaseMs} * interval '1 millisecond',
        message_id = coalesce(o.message_id, '<' || o.id || '@' || ${claim.domain} || '>')
    FROM (
      SELECT id FROM outbox
      WHERE status = 'pending' AND available_at <= now() AND (lease_until IS NULL OR lease_until < now())
      ORDER BY available_at, id
      LIMIT ${claim.limit}
      FOR UPDATE SKIP LOCKED
    ) due
    WHERE o.id = due.id
    RETURNING o.id, o.recipient, o.subject, o.body, o.attempts, o.message_id,
      o.payload->'headers' AS headers, o.payload->>'html' AS html,
      (SELECT u.reason FROM mail_undeliverable u WHERE u.address = lower(o.recipient)) AS undeliverable`.execute(
    db,
  );
  return rows;
}

/** Only the worker holding the claim may record the outcome; false if the claim was lost (lease ended
 * and another worker took the message). */
type Outcome = { id: string; worker: string };

const released = { claimed_by: null, lease_until: null } as const;

/** Many accepted messages marked sent in one statement (the worker's pass): each only while this
 * worker still holds its claim; how many were marked. A crash before it runs leaves them claimed, and
 * they are sent again with the same Message-ID once the lease ends, as after any crash between acceptance and the mark. A message
 * marked sent is never claimed again. */
export async function markSentMany(
  db: Kysely<DB>,
  worker: string,
  accepted: readonly { id: string; response: string }[],
): Promise<number> {
  if (accepted.length === 0) return 0;
  const { rows } = await sql<{ id: string }>`
    UPDATE outbox o
    SET claimed_by = NULL, lease_until = NULL, status = 'sent', sent_at = now(),
        smtp_response = a.response, attempts = o.attempts + 1
    FROM unnest(${accepted.map((a) => a.id)}::uuid[], ${accepted.map((a) => a.response.slice(0, 1000))}::text[])
      AS a(id, response)
    WHERE o.id = a.id AND o.claimed_by = ${worker} AND o.status = 'pending'
    RETURNING o.id`.execute(db);
  return rows.length;
}

/** An attempt failed for now: try again after delayMs, or dead-letter it when this was the last. */
export async function markAttemptFailed(
  db: Kysely<DB>,
  o: Outcome & { error: string; delayMs: number; maxAttempts: number },
): Promise<"retry" | "dead" | "lost"> {
  const row = await db
    .updateTable("outbox")
    .set((eb) => ({
      ...released,
      attempts: eb("attempts", "+", 1),
      last_error: o.error.slice(0, 1000),
      available_at: sql<Date>`now() + ${o.delayMs} * interval '1 millisecond'`,
      status: sql<string>`CASE WHEN attempts + 1 >= ${o.maxAttempts} THEN 'dead' ELSE 'pending' END`,
    }))
    .where("id", "=", o.id)
    .where("claimed_by", "=", o.worker)
    .where("status", "=", "pending")
    .returning("status")
    .executeTakeFirst();
  if (!row) return "lost";
  return row.status === "dead" ? "dead" : "retry";
}

/** Dead-letter at once: a permanent refusal, or no address to send to. */
export async function markDead(db: Kysely<DB>, o: Outcome & { error: string; attempted: boolean }) {
  await db
    .updateTable("outbox")
    .set((eb) => ({
      ...released,
      status: "dead",
      last_error: o.error.slice(0, 1000),
      attempts: o.attempted ? eb("attempts", "+", 1) : eb.ref("attempts"),
    }))
    .where("id", "=", o.id)
    .where("claimed_by", "=", o.worker)
    .where("status", "=", "pending")
    .execute();
}

/** Claimed but not attempted (the breaker is open, or the worker yields to requests: G11): back in the
 * queue after delayMs, no attempt counted, each only while this worker still holds its claim. */
export async function releaseUnattempted(
  db: Kysely<DB>,
  o: { ids: readonly string[]; worker: string; delayMs: number },
) {
  if (o.ids.length === 0) return;
  await db
    .updateTable("outbox")
    .set({
      ...released,
      available_at: sql<Date>`now() + ${o.delayMs} * interval '1 millisecond'`,
    })
    .where("id", "in", o.ids)
    .where("claimed_by", "=", o.worker)
    .where("status", "=", "pending")
    .execute();
}

/** No mail server: the message goes to the local mailbox, labelled as not sent. */
export async function markHeld(db: Kysely<DB>, o: Outcome) {
  await db
    .updateTable("outbox")
    .set({ ...released, status: "held", last_error: HELD_NOTE })
    .where("id", "=", o.id)
    .where("claimed_by", "=", o.worker)
    .where("status", "=", "pending")
    .execute();
}

/** Marks an address the server refused for good (5xx): no more mail goes to it. */
export async function markUndeliverable(
  db: Kysely<DB>,
  mark: { address: string; reason: string; outboxId: string },
) {
  await db
    .insertInto("mail_undeliverable")
    .values({
      address: mark.address.toLowerCase(),
      reason: mark.reason.slice(0, 1000),
      outbox_id: mark.outboxId,
    })
    .onConflict((oc) =>
      oc.column("address").doUpdateSet({ reason: mark.reason.slice(0, 1000), outbox_id: mark.outboxId }),
    )
    .execute();
}

/** The mark on an address, if a server refused it for good. */
export function findUndeliverable(db: Kysely<DB>, address: string) {
  return db
    .selectFrom("mail_undeliverable")
    .select(["address", "reason", "created_at", "updated_at"])
    .where("address", "=", address.toLowerCase())
    .executeTakeFirst();
}

/** A dead, held or failed message back in the queue, as new (the retry action); its row before. */
export async function requeueMessage(trx: Transaction<DB>, id: string) {
  const before = await trx
    .selectFrom("outbox")
    .select(["id", "status", "attempts", "last_error", "recipient"])
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
  if (!before || !["dead", "held", "failed"].includes(before.status)) return { before, requeued: false };
  await trx
    .updateTable("outbox")
    .set({ ...released, status: "pending", attempts: 0, available_at: sql<Date>`now()` })
    .where("id", "=", id)
    .execute();
  return { before, requeued: true };
}

/** Removes an address's mark (an admin retries mail to it); true if there was one. */
export async function clearUndeliverable(trx: Transaction<DB>, address: string): Promise<boolean> {
  const r = await trx
    .deleteFrom("mail_undeliverable")
    .where("address", "=", address.toLowerCase())
    .executeTakeFirst();
  return r.numDeletedRows > 0n;
}

/** The queue as operators see it: waiting, the oldest waiting, dead letters, held, the last error. */
export interface MailQueueStats {
  waiting: number;
  oldestWaitingAt: Date | null;
  dead: number;
  held: number;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/** Reads the queue figures (one statement for the counts, one for the last error). */
export async function mailQueueStats(db: Kysely<DB>): Promise<MailQueueStats> {
  const { rows } = await sql<{ waiting: number; oldest: Date | null; dead: number; held: number }>`
    SELECT count(*) FILTER (WHERE status = 'pending')::integer AS waiting,
           min(created_at) FILTER (WHERE status = 'pending') AS oldest,
           count(*) FILTER (WHERE status IN ('dead', 'failed'))::integer AS dead,
           count(*) FILTER (WHERE status = 'held')::integer AS held
    FROM outbox WHERE status IN ('pending', 'dead', 'failed', 'held')`.execute(db);
  const last = await db
    .selectFrom("outbox")
    .select(["last_error", "updated_at"])
    .where("last_error", "is not", null)
    .where("status", "<>", "held")
    .orderBy("updated_at", "desc")
    .limit(1)
    .executeTakeFirst();
  const r = rows[0]!;
  return {
    waiting: r.waiting,
    oldestWaitingAt: r.oldest ? new Date(r.oldest) : null,
    dead: r.dead,
    held: r.held,
    lastError: last?.last_error ?? null,
    lastErrorAt: last?.updated_at ?? null,
  };
}

/** A message the mail server accepted, as a restore carries it over (see markSentAfterRestore). */
export interface SentRecord {
  id: string;
  sent_at: Date | null;
  message_id: string | null;
  smtp_response: string | null;
}

/** Messages the mail server accepted since the given time: read before a restore replaces the outbox. */
export function messagesSentSince(db: Kysely<DB>, since: Date): Promise<SentRecord[]> {
  return db
    .selectFrom("outbox")
    .select(["id", "sent_at", "message_id", "smtp_response"])
    .where("status", "=", "sent")
    .where("sent_at", ">=", since)
    .execute();
}

/** After a restore: the messages that left after the backup was taken are back in the outbox as still
 * waiting; they are marked sent again, so nobody receives them twice. Returns how many. */
export async function markSentAfterRestore(
  trx: Transaction<DB>,
  sent: readonly SentRecord[],
): Promise<number> {
  let count = 0;
  for (const row of sent) {
    const r = await trx
      .updateTable("outbox")
      .set({
        ...released,
        status: "sent",
        sent_at: row.sent_at ?? sql<Date>`now()`,
        message_id: row.message_id,
        smtp_response: row.smtp_response,
      })
      .where("id", "=", row.id)
      .where("status", "<>", "sent")
      .executeTakeFirst();
    count += Number(r.numUpdatedRows);
  }
  return count;
}
