import type { Kysely } from "kysely";
import { definePolicy } from "../../core/access.ts";
import type { Actor } from "../../core/actor.ts";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { chairedCommittees, chairsCommittee } from "../committees/committees.repository.ts";
import { chairsCommitteeOfEvent, eventOfRegistration, memberOfRegistration } from "./events.repository.ts";

/* Who may manage events beyond the events:manage capability: the chairs of an event's committee, for
 * their committee's events only. Each rule is a named policy on the actions (and read routes) it gates,
 * evaluated in the action's transaction; `clubos routes` lists it. A chair is a member whose chair term
 * has started and not ended, and who is active and not deleted (committees.repository currentChairTerms).
 * Every policy denies what it cannot tell: an unknown or malformed id, an event with no committee. */

/** Members-only events are for members who hold the member rights: every role, the membership role and
 * its events:register included, counts only in a status that carries them (identity roleKeysOfMember), so
 * a suspended or lapsed member, signed in or not, sees only public events. The one definition: the events
 * routes, a page's event-list block and the leak audit all ask it. */
export function seesMembersOnlyEvents(actor: Actor): boolean {
  return actor.type === "member" && actor.capabilities.has("events:register");
}

/**
 * May this actor manage (edit, publish, cancel, run) this event? True with events:manage (events chair,
 * full admin, operator), or for a current chair of the event's committee.
 */
export async function canManageEvent(db: Kysely<DB>, actor: Actor, eventId: string): Promise<boolean> {
  if (actor.capabilities.has("events:manage")) return true;
  if (actor.type !== "member" || !UUID.test(eventId)) return false;
  return chairsCommitteeOfEvent(db, actor.memberId, eventId);
}

/** Manages the event the input names. */
export const MANAGES_EVENT = definePolicy<{ eventId: string }>({
  name: "events.manages-event",
  description: "holds events:manage, or chairs the event's committee now",
  allows: ({ db, actor }, input) => canManageEvent(db, actor, input.eventId),
});

/** Manages the event of the registration the input names (check-in, no-show). Denied alike for an
 * unknown registration, so the answer does not reveal which registrations exist. */
export const MANAGES_REGISTRATIONS_EVENT = definePolicy<{ registrationId: string }>({
  name: "events.manages-registrations-event",
  description: "holds events:manage, or chairs the committee of the registration's event now",
  async allows({ db, actor }, input) {
    if (actor.capabilities.has("events:manage")) return true;
    const eventId = await eventOfRegistration(db, input.registrationId);
    return eventId !== undefined && canManageEvent(db, actor, eventId);
  },
});

/** May create an event for the committee the input names: events:manage for any committee or none; a
 * current chair for their own committee only. Everything else, no committee included, is the same
 * 403, so it never tells whether a committee exists. */
export const CREATES_FOR_COMMITTEE = definePolicy<{ committeeId?: string | null }>({
  name: "events.creates-for-committee",
  description: "holds events:manage, or chairs the chosen committee now",
  async allows({ db, actor }, input) {
    if (actor.capabilities.has("events:manage")) return true;
    const id = input.committeeId?.trim();
    return actor.type === "member" && Boolean(id) && chairsCommittee(db, actor.memberId, id!);
  },
});

/** Manages some events: events:manage, or chairs a committee now (the admin event list and the create
 * form, which then show only what the actor manages). */
export const MANAGES_SOME_EVENTS = definePolicy<unknown>({
  name: "events.manages-some-events",
  description: "holds events:manage, or chairs a committee now",
  async allows({ db, actor }) {
    if (actor.capabilities.has("events:manage")) return true;
    return actor.type === "member" && (await chairedCommittees(db, actor.memberId)).length > 0;
  },
});

/** Owns the registration the input names, or manages events. Others see it as absent (404, R-2). */
export const OWNS_REGISTRATION = definePolicy<{ registrationId: string }>({
  name: "events.owns-registration",
  description: "the member who registered, or a holder of events:manage",
  denial: "not_found",
  async allows({ db, actor }, input) {
    if (actor.capabilities.has("events:manage")) return true;
    if (actor.type !== "member") return false;
    return (await memberOfRegistration(db, input.registrationId)) === actor.memberId;
  },
});
