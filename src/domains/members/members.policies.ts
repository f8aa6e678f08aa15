import { allOf, definePolicy, type Policy } from "../../core/access.ts";
import { capabilitiesOf } from "../../core/capabilities.ts";
import { hashSecret } from "../../core/secrets.ts";
import {
  KEEPS_ADMIN_ACTIVE,
  KEEPS_ADMIN_ADDRESS,
  KEEPS_ADMIN_ON_DELETE,
} from "../identity/identity.policies.ts";
import { heldRoleKeys } from "../identity/identity.repository.ts";
import { unsubscribeLinkOwner } from "./announcements.repository.ts";
import { MEMBER_ERRORS } from "./members.errors.ts";

/* Who may change which member, beyond members:write. Nobody changes a member who holds more than they
 * do (S-1: a membership chair must not suspend, re-address or delete a full administrator), nobody
 * deletes or suspends themselves from the admin pages, and the club keeps an active full administrator
 * (identity.policies.ts). Each rule is a policy on the actions it gates, checked in their transaction. */

/** The actor holds every capability the member's current roles carry (held again once they are active
 * or restored), or may grant roles anyway (roles:grant: a full administrator, an operator). */
export const ACTS_ON_MEMBER = definePolicy<{ memberId: string }>({
  name: "members.acts-on-member",
  description: "holds every capability the member holds, or holds roles:grant",
  async allows({ db, actor }, input) {
    if (actor.capabilities.has("roles:grant")) return true;
    const theirs = capabilitiesOf(await heldRoleKeys(db, input.memberId));
    return theirs.every((c) => actor.capabilities.has(c));
  },
  refusal: () =>
    MEMBER_ERRORS.member_outranks_actor(
      "This member holds permissions you do not hold, so you cannot change their record or status. " +
        "Nothing was changed; ask a full administrator to do it.",
    ),
});

/** Not one's own record: an administrator never deletes themselves or changes their own status (the
 * admin pages and the API alike); another administrator does, so two people see it happen. */
function notOwnRecord(what: string): Policy<{ memberId: string }> {
  return definePolicy({
    name: "members.not-own-record",
    description: "not the actor's own member record",
    allows: async ({ actor }, input) => actor.type !== "member" || actor.memberId !== input.memberId,
    refusal: () =>
      MEMBER_ERRORS.own_member_record(
        `You cannot ${what} yourself. Nothing was changed; ask another administrator to do it.`,
      ),
  });
}

/** An admin's edit of a member record. */
export const MAY_EDIT_MEMBER = allOf<{ memberId: string; changes: { email?: string } }>(
  ACTS_ON_MEMBER,
  KEEPS_ADMIN_ADDRESS,
);

/** A status change. */
export const MAY_CHANGE_STATUS = allOf<{ memberId: string; status: string }>(
  notOwnRecord("change your own status"),
  ACTS_ON_MEMBER,
  KEEPS_ADMIN_ACTIVE,
);

/** Deleting a member. */
export const MAY_DELETE_MEMBER = allOf<{ memberId: string }>(
  notOwnRecord("delete your own record"),
  ACTS_ON_MEMBER,
  KEEPS_ADMIN_ON_DELETE,
);

/** The actor is the member an announcement's unsubscribe link was made for (read again inside the
 * action's transaction). Anything else looks like no link at all. */
export const HOLDS_UNSUBSCRIBE_LINK = definePolicy<{ token: string }>({
  name: "members.holds-unsubscribe-link",
  description: "the member an announcement's unsubscribe link was made for",
  async allows({ db, actor }, input) {
    if (actor.type !== "member") return false;
    const owner = await unsubscribeLinkOwner(db, hashSecret(input.token));
    return owner?.memberId === actor.memberId;
  },
});
