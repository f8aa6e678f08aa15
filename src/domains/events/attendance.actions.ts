import type { Transaction } from "kysely";
import { defineAction } from "../../core/action.ts";
import type { DB } from "../../core/db/schema.ts";
import { conflict, notFound } from "../../core/errors.ts";
import { MANAGES_REGISTRATIONS_EVENT } from "./events.policies.ts";
import { lockRegistration, markCheckedIn, markNoShowRow } from "./events.repository.ts";

/** Check-in and no-show on the day. Both only apply to confirmed registrations and are idempotent: doing
 * it again changes nothing and writes nothing (not even an audit entry), so a double tap at the door or a
 * retried request is harmless (`unchanged`, run under the row lock, so two taps at once still give one
 * change and one audit entry). Who may is the policy: those who manage the registration's event. */
const MANAGE = { capability: "events:register", policy: MANAGES_REGISTRATIONS_EVENT } as const;

async function lockExisting(trx: Transaction<DB>, registrationId: string) {
  const row = await lockRegistration(trx, registrationId);
  if (!row) throw notFound();
  return row;
}

/** A registration row with its attendance. */
export type AttendanceRow = Awaited<ReturnType<typeof lockExisting>>;

function requireConfirmed(status: string, what: string): void {
  if (status !== "confirmed")
    throw conflict(`Only confirmed registrations can be ${what}; this one is ${status}.`, { status });
}

/** Records that a confirmed member arrived; a late arrival clears an earlier no-show. */
export const checkInRegistration = defineAction({
  name: "checkInRegistration",
  access: MANAGE,
  effect: "admin",
  // Done already: the second tap changes nothing and writes nothing.
  unchanged: async ({ trx }, input: { registrationId: string }) => {
    const row = await lockExisting(trx, input.registrationId);
    return row.status === "confirmed" && row.checked_in_at !== null ? row : undefined;
  },
  async run({ trx }, input: { registrationId: string }) {
    const before = await lockExisting(trx, input.registrationId);
    requireConfirmed(before.status, "checked in");
    const after = await markCheckedIn(trx, before.id);
    return {
      result: after as AttendanceRow,
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
  access: MANAGE,
  effect: "admin",
  unchanged: async ({ trx }, input: { registrationId: string }) => {
    const row = await lockExisting(trx, input.registrationId);
    return row.status === "confirmed" && row.no_show && row.checked_in_at === null ? row : undefined;
  },
  async run({ trx }, input: { registrationId: string }) {
    const before = await lockExisting(trx, input.registrationId);
    requireConfirmed(before.status, "marked as no-shows");
    if (before.checked_in_at) throw conflict("This member was checked in, so they cannot be a no-show.");
    const after = await markNoShowRow(trx, before.id);
    return {
      result: after as AttendanceRow,
      audit: {
        action: "registration.no_show",
        subjectType: "registration",
        subjectId: after.id,
        after: { eventId: after.event_id, noShow: true, version: after.version },
      },
    };
  },
});
