import { sql, type Transaction } from "kysely";
import { type ActionEnv, type ActionSpec, defineAction, runActionWith } from "../../core/action.ts";
import type { Actor } from "../../core/actor.ts";
import type { DB } from "../../core/db/schema.ts";
import { conflict, forbidden, notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { canManageEvent } from "./event-access.ts";

/** Check-in and no-show on the day. Both only apply to confirmed registrations and are idempotent: doing
 * it again changes nothing and writes nothing (not even an audit entry), so a double tap at the door or a
 * retried request is harmless. */

/** What the attendance endpoints answer. */
export interface Attendance {
  id: string;
  eventId: string;
  status: string;
  checkedInAt: Date | null;
  noShow: boolean;
  version: number;
}

/** The registration, locked, once the actor is known to manage its event; 403 before anything else
 * for those who manage nothing, so the answer does not reveal which registrations exist. */
async function lockRegistration(trx: Transaction<DB>, actor: Actor, registrationId: string) {
  const row = UUID.test(registrationId)
    ? await trx
        .selectFrom("registrations")
        .selectAll()
        .where("id", "=", registrationId)
        .forUpdate()
        .executeTakeFirst()
    : undefined;
  if (!(await canManageEvent(trx, actor, row?.event_id ?? ""))) throw forbidden("events:manage");
  if (!row) throw notFound();
  return row;
}

type Row = Awaited<ReturnType<typeof lockRegistration>>;

const view = (r: Row): Attendance => ({
  id: r.id,
  eventId: r.event_id,
  status: r.status,
  checkedInAt: r.checked_in_at,
  noShow: r.no_show,
  version: r.version,
});

function requireConfirmed(status: string, what: string): void {
  if (status !== "confirmed")
    throw conflict(`Only confirmed registrations can be ${what}; this one is ${status}.`, { status });
}

/** Records that a confirmed member arrived; a late arrival clears an earlier no-show. */
export const checkInRegistration = defineAction({
  name: "checkInRegistration",
  capability: "events:register", // the gate is canManageEvent, as in events.admin.actions.ts
  effect: "admin",
  async run({ trx, actor }, input: { registrationId: string }) {
    const before = await lockRegistration(trx, actor, input.registrationId);
    requireConfirmed(before.status, "checked in");
    const after = await trx
      .updateTable("registrations")
      .set({ checked_in_at: sql`now()`, no_show: false, version: sql`version + 1` })
      .where("id", "=", before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return {
      result: view(after),
      audit: {
        action: "registration.checked_in",
        subjectType: "registration",
        subjectId: after.id,
        before: { noShow: before.no_show },
        after: { eventId: after.event_id, checkedInAt: after.checked_in_at, version: after.version },
      },
    };
  },
});

/** Records that a confirmed member did not come. Refused once they are checked in: an arrival on
 * record is not overwritten by a later mistaken tap. */
export const markNoShow = defineAction({
  name: "markNoShow",
  capability: "events:register", // the gate is canManageEvent, as in events.admin.actions.ts
  effect: "admin",
  async run({ trx, actor }, input: { registrationId: string }) {
    const before = await lockRegistration(trx, actor, input.registrationId);
    requireConfirmed(before.status, "marked as no-shows");
    if (before.checked_in_at) throw conflict("This member was checked in, so they cannot be a no-show.");
    const after = await trx
      .updateTable("registrations")
      .set({ no_show: true, version: sql`version + 1` })
      .where("id", "=", before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return {
      result: view(after),
      audit: {
        action: "registration.no_show",
        subjectType: "registration",
        subjectId: after.id,
        after: { eventId: after.event_id, noShow: true, version: after.version },
      },
    };
  },
});

// The early exit runs inside the action's transaction after the capability and mode checks, and holds
// the row lock, so two taps at once still give one change and one audit entry.
function runOnce(
  env: ActionEnv,
  spec: ActionSpec<{ registrationId: string }, Attendance>,
  registrationId: string,
  done: (r: Row) => boolean,
): Promise<Attendance> {
  return runActionWith(
    env,
    spec,
    { registrationId },
    {
      before: async (trx) => {
        const row = await lockRegistration(trx, env.actor, registrationId);
        return row.status === "confirmed" && done(row) ? view(row) : undefined;
      },
      after: async (_trx, result) => result,
    },
  );
}

/** Checks a registration in, once. */
export const checkIn = (env: ActionEnv, registrationId: string) =>
  runOnce(env, checkInRegistration, registrationId, (r) => r.checked_in_at !== null);

/** Marks a registration as a no-show, once. */
export const noShow = (env: ActionEnv, registrationId: string) =>
  runOnce(env, markNoShow, registrationId, (r) => r.no_show && r.checked_in_at === null);
