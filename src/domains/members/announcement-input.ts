import { invalidInput } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import type { Audience } from "./announcements.repository.ts";
import { isMemberStatus } from "./member-status.ts";

/** The audience from the form's text fields: no status means active members ("any" for every status),
 * an empty tier, committee or event means not narrowed by it; a status that is not one, or an id that
 * is not an id, is refused with what to do rather than silently widening the audience. */
export function audienceFrom(fields: {
  status?: string;
  tier?: string;
  committee?: string;
  event?: string;
}): Audience {
  const status = fields.status?.trim() || "active";
  if (status !== "any" && !isMemberStatus(status))
    throw invalidInput("Choose a member status from the list.");
  const committee = fields.committee?.trim() || undefined;
  if (committee && !UUID.test(committee)) throw invalidInput("Choose a committee from the list.");
  const event = fields.event?.trim() || undefined;
  if (event && !UUID.test(event)) throw invalidInput("Choose an event from the list.");
  return {
    ...(status !== "any" ? { status: status as Audience["status"] } : {}),
    ...(fields.tier?.trim() ? { tierKey: fields.tier.trim() } : {}),
    ...(committee ? { committeeId: committee } : {}),
    ...(event ? { eventId: event } : {}),
  };
}
