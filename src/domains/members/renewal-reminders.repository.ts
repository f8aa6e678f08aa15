import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** Renewal reminders: who is due one, and the record that one was sent (renewal_reminders, migration
 * 0025), whose primary key (member, renewal date, step) is what makes each go out once. */

/** Active, undeleted members whose renewal date is between today and today + maxDays, after an id
 * (keyset), with the days left. */
export function membersDueWithin(
  db: Kysely<DB>,
  q: { today: string; maxDays: number; afterId: string; limit: number },
) {
  return db
    .selectFrom("members")
    .select([
      "id",
      "name",
      "email",
      sql<string>`renewal_due_on::text`.as("due_on"),
      sql<number>`(renewal_due_on - ${q.today}::date)::integer`.as("days_left"),
    ])
    .where("status", "=", "active")
    .where("deleted_at", "is", null)
    .where("renewal_due_on", ">=", q.today)
    .where(sql<boolean>`renewal_due_on <= ${q.today}::date + ${q.maxDays}::integer`)
    .where("id", ">", q.afterId)
    .orderBy("id")
    .limit(q.limit)
    .execute();
}

/** How many members are due a reminder window at all (for progress). */
export async function countMembersDueWithin(db: Kysely<DB>, today: string, maxDays: number): Promise<number> {
  const row = await db
    .selectFrom("members")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("status", "=", "active")
    .where("deleted_at", "is", null)
    .where("renewal_due_on", ">=", today)
    .where(sql<boolean>`renewal_due_on <= ${today}::date + ${maxDays}::integer`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Locks the member if they are still active, undeleted and due on this date (a renewal, lapse or
 * deletion since the batch was read leaves them alone). */
export async function lockIfStillDue(
  trx: Transaction<DB>,
  memberId: string,
  dueOn: string,
): Promise<boolean> {
  const row = await trx
    .selectFrom("members")
    .select("id")
    .where("id", "=", memberId)
    .where("status", "=", "active")
    .where("deleted_at", "is", null)
    .where("renewal_due_on", "=", dueOn)
    .forUpdate()
    .executeTakeFirst();
  return row !== undefined;
}

/** Records that this reminder is being sent; false when it already was (the primary key: another run,
 * here or on another server, got there first and its transaction committed). */
export async function recordReminder(
  trx: Transaction<DB>,
  r: { memberId: string; dueOn: string; step: number },
): Promise<boolean> {
  const row = await trx
    .insertInto("renewal_reminders")
    .values({ member_id: r.memberId, due_on: r.dueOn, step: r.step })
    .onConflict((oc) => oc.doNothing())
    .returning("member_id")
    .executeTakeFirst();
  return row !== undefined;
}
