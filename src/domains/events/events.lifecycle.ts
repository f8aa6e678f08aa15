import type { ActionScope, OutboxDraft } from "../../core/action.ts";
import { cancelHeld } from "./events.actions.ts";
import { lockEvent, lockRegistration, openRegistrationsOf } from "./events.repository.ts";

/* Steps of the events domain that another domain's action takes inside its own transaction. The one
 * such step: a member who is deleted gives up their places (INV-8: a deleted member holds no seat and
 * no place in line). It is the named exception to "a domain never calls another domain's actions"
 * (test/unit/dependencies.test.ts): the deletion and the cancellations must commit together. */

/** Cancels a member's registrations for events still open (draft or published), each seat freed going
 * to the first in line. Registrations of completed or cancelled events are history and stay. */
export async function cancelOpenRegistrationsOf(scope: ActionScope, memberId: string, timeZone: string) {
  const cancelled: string[] = [];
  const promoted: string[] = [];
  const outbox: OutboxDraft[] = [];
  for (const { id, event_id } of await openRegistrationsOf(scope.trx, memberId)) {
    const event = (await lockEvent(scope.trx, event_id))!;
    const before = (await lockRegistration(scope.trx, id))!;
    if (before.status !== "confirmed" && before.status !== "waitlisted") continue;
    const freed = await cancelHeld(scope, before, event, timeZone);
    cancelled.push(id);
    promoted.push(...freed.promoted);
    outbox.push(...freed.outbox);
  }
  return { cancelled, promoted, outbox };
}
