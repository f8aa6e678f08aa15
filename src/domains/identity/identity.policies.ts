import type { Kysely } from "kysely";
import { definePolicy } from "../../core/access.ts";
import type { DB } from "../../core/db/schema.ts";
import { hashSecret } from "../../core/secrets.ts";
import { findOpenLink, type LinkPurpose } from "./account-links.repository.ts";
import { IDENTITY_ERRORS } from "./identity.errors.ts";
import { activeFullAdmins, roleAssignment } from "./identity.repository.ts";

/* The club never locks itself out of its own admin: nothing may remove, suspend, demote or re-address
 * the last active full administrator. One rule, stated for each way it could be broken, each a policy on
 * the actions that could break it (members: delete, status, email; identity: ending a role). The
 * operator's way back in when it happens anyway (a database restored from an old backup) is
 * `clubos admin create` (docs/runbooks/admin-access-recovery.md). */

/** True when this member is the only active full administrator. */
export async function isLastFullAdmin(db: Kysely<DB>, memberId: string): Promise<boolean> {
  const admins = await activeFullAdmins(db);
  return admins.length === 1 && admins[0] === memberId;
}

const refusal = (what: string) =>
  IDENTITY_ERRORS.last_full_admin(
    `This member is the club's last active full administrator, so they cannot be ${what}. ` +
      "Make someone else a full administrator first, then try again.",
  );

/** Deleting a member: never the last full administrator. */
export const KEEPS_ADMIN_ON_DELETE = definePolicy<{ memberId: string }>({
  name: "identity.keeps-a-full-admin",
  description: "never deletes the last active full administrator",
  allows: async ({ db }, input) => !(await isLastFullAdmin(db, input.memberId)),
  refusal: () => refusal("deleted"),
});

/** A status change: the last full administrator stays active. */
export const KEEPS_ADMIN_ACTIVE = definePolicy<{ memberId: string; status: string }>({
  name: "identity.keeps-a-full-admin",
  description: "never suspends or lapses the last active full administrator",
  allows: async ({ db }, input) => input.status === "active" || !(await isLastFullAdmin(db, input.memberId)),
  refusal: (input) => refusal(`made ${input.status}`),
});

/** An edit: the last full administrator keeps the email they log in with. */
export const KEEPS_ADMIN_ADDRESS = definePolicy<{ memberId: string; changes: { email?: string } }>({
  name: "identity.keeps-a-full-admin",
  description: "never changes the login email of the last active full administrator",
  allows: async ({ db }, input) =>
    input.changes.email === undefined || !(await isLastFullAdmin(db, input.memberId)),
  refusal: () => refusal("given another email address here (they log in with it)"),
});

/** Ending a role assignment: never the last full administrator's full_admin role. */
export const KEEPS_ADMIN_ROLE = definePolicy<{ assignmentId: string }>({
  name: "identity.keeps-a-full-admin",
  description: "never ends the full administrator role of the last active full administrator",
  async allows({ db }, input) {
    const assignment = await roleAssignment(db, input.assignmentId);
    if (assignment?.role_key !== "full_admin") return true;
    return !(await isLastFullAdmin(db, assignment.member_id));
  },
  refusal: () => refusal("removed from the full administrator role"),
});

/** What an action taken through a single-use link names: the link's token. */
export interface ThroughLink {
  token: string;
}

/** The actor is the member an open link of this kind was made for (checked again inside the action's
 * transaction, which then uses the link up in one statement). Anything else looks like no link at all. */
export function holdsOpenLink(purpose: LinkPurpose) {
  return definePolicy<ThroughLink>({
    name: `identity.holds-open-${purpose.replace("_", "-")}`,
    description: `the member an open ${purpose.replace("_", " ")} link was made for`,
    async allows({ db, actor }, input) {
      if (actor.type !== "member") return false;
      const link = await findOpenLink(db, hashSecret(input.token), purpose);
      return link?.memberId === actor.memberId;
    },
    refusal: () => linkNotUsable(purpose),
  });
}

/** The one answer for a link that does not work, whatever the reason: the same for a link that never
 * existed, so nothing can be learnt by trying tokens. */
export function linkNotUsable(purpose: LinkPurpose) {
  return IDENTITY_ERRORS.link_not_usable(
    purpose === "invitation"
      ? "This invitation link no longer works: it was already used, it expired, or a newer invitation replaced it. Ask the club's membership administrator for a new invitation."
      : 'This password-reset link no longer works: it was already used, it expired (links work for a short time), or a newer link replaced it. Ask for a new one on the login page ("Forgot your password?").',
  );
}

/** The forgot-password form: anyone may ask, as a named caller (the public form's own actor, or an
 * operator); what happens never depends on who asks, and the answer never says whether the address is
 * known. */
export const ASKS_FOR_RESET = definePolicy<unknown>({
  name: "identity.anyone-may-ask-for-a-reset",
  description:
    "anyone (the public forgot-password form); the answer is the same for known and unknown addresses",
  allows: async ({ actor }) => actor.type !== "anonymous",
});

/** The public join form and its confirmation links: anyone may apply, as a named caller (the form's own
 * actor); an email that belongs to a member gets the same answer as a new one. */
export const APPLIES_TO_JOIN = definePolicy<unknown>({
  name: "identity.anyone-may-apply-to-join",
  description:
    "anyone (the public join form, when an admin opened it); the answer is the same for members' addresses",
  allows: async ({ actor }) => actor.type !== "anonymous",
});
