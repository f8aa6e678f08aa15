import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of applications through the public join form (migration 0026). An application is open to
 * confirmation until its link expires, then waits (confirmed) for an admin's decision. */

/** A new unconfirmed application, stored with the hash of its confirmation link's token. */
export function insertApplication(
  trx: Transaction<DB>,
  application: {
    name: string;
    email: string;
    phone: string;
    tierKey: string;
    message: string;
    tokenHash: string;
    confirmHours: number;
  },
) {
  return trx
    .insertInto("join_applications")
    .values({
      name: application.name,
      email: application.email,
      phone: application.phone,
      tier_key: application.tierKey,
      message: application.message,
      confirm_token_hash: application.tokenHash,
      confirm_expires_at: sql`now() + make_interval(hours => ${application.confirmHours})`,
    })
    .returning(["id", "confirm_expires_at"])
    .executeTakeFirstOrThrow();
}

/** The unconfirmed, unexpired application a confirmation link names, if any. */
export function findUnconfirmed(db: Kysely<DB>, tokenHash: string) {
  return db
    .selectFrom("join_applications")
    .select(["id", "name", "email"])
    .where("confirm_token_hash", "=", tokenHash)
    .where("status", "=", "unconfirmed")
    .where("confirm_expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
}

/** Confirms the application a link names, in one statement (two clicks at once confirm it once);
 * undefined when the link is unknown, used or expired. */
export function confirmByToken(trx: Transaction<DB>, tokenHash: string) {
  return trx
    .updateTable("join_applications")
    .set({ status: "confirmed", confirmed_at: sql`now()` })
    .where("confirm_token_hash", "=", tokenHash)
    .where("status", "=", "unconfirmed")
    .where("confirm_expires_at", ">", sql<Date>`now()`)
    .returning(["id", "email"])
    .executeTakeFirst();
}

/** The admin queue: confirmed applications waiting for a decision, oldest first, with their tier. */
export function listWaitingApplications(db: Kysely<DB>, limit: number) {
  return db
    .selectFrom("join_applications as a")
    .innerJoin("membership_tiers as t", "t.key", "a.tier_key")
    .select([
      "a.id",
      "a.name",
      "a.email",
      "a.phone",
      "a.message",
      "a.confirmed_at",
      "t.name as tierName",
      "t.join_status as joinStatus",
    ])
    .where("a.status", "=", "confirmed")
    .orderBy("a.confirmed_at")
    .orderBy("a.id")
    .limit(limit)
    .execute();
}

/** An application locked for a decision, with its tier's rule; undefined when there is none. */
export function lockApplication(trx: Transaction<DB>, id: string) {
  return trx
    .selectFrom("join_applications as a")
    .innerJoin("membership_tiers as t", "t.key", "a.tier_key")
    .select(["a.id", "a.name", "a.email", "a.phone", "a.tier_key", "a.status", "t.join_status as joinStatus"])
    .where("a.id", "=", id)
    .forUpdate()
    .executeTakeFirst();
}

/** Records an admin's decision on a confirmed application. */
export async function decideApplication(
  trx: Transaction<DB>,
  decision: { id: string; status: "approved" | "rejected"; by: string; reason?: string; memberId?: string },
) {
  await trx
    .updateTable("join_applications")
    .set({
      status: decision.status,
      decided_at: sql`now()`,
      decided_by: decision.by,
      reason: decision.reason ?? null,
      member_id: decision.memberId ?? null,
    })
    .where("id", "=", decision.id)
    .where("status", "=", "confirmed")
    .executeTakeFirstOrThrow();
}

/** Deletes unconfirmed applications whose link expired: nobody confirmed the address, so the club keeps
 * nothing of what was typed. Returns how many went. */
export async function deleteExpiredUnconfirmed(trx: Transaction<DB>): Promise<number> {
  const rows = await trx
    .deleteFrom("join_applications")
    .where("status", "=", "unconfirmed")
    .where("confirm_expires_at", "<=", sql<Date>`now()`)
    .returning("id")
    .execute();
  return rows.length;
}

/** How many unconfirmed applications have an expired link (what the purge would delete). */
export async function countExpiredUnconfirmed(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom("join_applications")
    .select(sql<number>`count(*)::integer`.as("n"))
    .where("status", "=", "unconfirmed")
    .where("confirm_expires_at", "<=", sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Deletes approved and rejected applications decided before `before` (retention): the decision is in
 * the audit log and an approved applicant is a member now; what they typed is not kept for ever. */
export async function deleteDecidedBefore(trx: Transaction<DB>, before: Date): Promise<number> {
  const rows = await trx
    .deleteFrom("join_applications")
    .where("status", "in", ["approved", "rejected"])
    .where("decided_at", "<", before)
    .returning("id")
    .execute();
  return rows.length;
}

/** How many decided applications the retention would delete. */
export async function countDecidedBefore(db: Kysely<DB>, before: Date): Promise<number> {
  const row = await db
    .selectFrom("join_applications")
    .select(sql<number>`count(*)::integer`.as("n"))
    .where("status", "in", ["approved", "rejected"])
    .where("decided_at", "<", before)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
