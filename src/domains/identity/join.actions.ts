import { defineAction } from "../../core/action.ts";
import { type Actor, actorRef } from "../../core/actor.ts";
import { conflict, invalidInput, notFound } from "../../core/errors.ts";
import { hashSecret, newSecret } from "../../core/secrets.ts";
import { findTier, insertMember } from "../members/members.repository.ts";
import { checkNewMember } from "../members/members.schemas.ts";
import { deliveryOf, issueLink, type LinkSettings } from "./account-links.actions.ts";
import { IDENTITY_ERRORS } from "./identity.errors.ts";
import { APPLIES_TO_JOIN } from "./identity.policies.ts";
import { findMemberByEmail } from "./identity.repository.ts";
import {
  alreadyMemberEmail,
  applicationRejectedEmail,
  confirmApplicationEmail,
  joinConfirmPath,
} from "./join.messages.ts";
import {
  confirmByToken,
  decideApplication,
  deleteExpiredUnconfirmed,
  insertApplication,
  lockApplication,
} from "./join.repository.ts";

/* Joining online: a person applies through the public form (when an admin opened it), confirms their
 * address through a single-use link, and waits in the admin queue; an admin approves (the member is made
 * with the status their tier says, and invited to choose a password) or rejects with a reason (the
 * applicant is told). */

/** How long a confirmation link works; an application not confirmed by then is deleted. */
export const JOIN_CONFIRM_HOURS = 48;

/** The actor the public join form and its confirmation links run as: named, holding nothing. */
export const JOIN_FORM: Actor = { type: "system", name: "join form", capabilities: new Set() };

/** What a person applies with. */
export interface Application {
  name: string;
  email: string;
  phone: string;
  tierKey: string;
  message: string;
}

/** An application from the public form. A new address gets an unconfirmed application and a
 * confirmation link by mail; an address that belongs to a member gets no application, and the member is
 * told by mail instead. Both do the same work (a token made and hashed, a message queued, an audit
 * entry), and the caller is told the same thing either way. */
export const applyToJoin = defineAction({
  name: "applyToJoin",
  access: { policy: APPLIES_TO_JOIN },
  effect: "write",
  async run(scope, input: Application & { settings: LinkSettings }) {
    const { trx } = scope;
    const { name, email } = checkNewMember({ name: input.name, email: input.email });
    if (!(await findTier(trx, input.tierKey)))
      throw invalidInput("Choose one of the membership types in the list.");
    const token = newSecret();
    const tokenHash = hashSecret(token);
    const member = await findMemberByEmail(trx, email);
    if (member && !member.deleted_at) {
      const outbox = alreadyMemberEmail({
        memberId: member.id,
        name: member.name,
        email: member.email,
        clubName: input.settings.clubName,
        publicUrl: input.settings.publicUrl,
      });
      return {
        result: null,
        audit: {
          action: "join.applied",
          subjectType: "member",
          subjectId: member.id,
          after: { existingMember: true, tier: input.tierKey },
        },
        outbox: [outbox],
      };
    }
    const row = await insertApplication(trx, {
      name,
      email,
      phone: input.phone.trim(),
      tierKey: input.tierKey,
      message: input.message.trim(),
      tokenHash,
      confirmHours: JOIN_CONFIRM_HOURS,
    });
    const outbox = confirmApplicationEmail({
      applicationId: row.id,
      name,
      email,
      clubName: input.settings.clubName,
      link: input.settings.publicUrl + joinConfirmPath(token),
      hours: JOIN_CONFIRM_HOURS,
    });
    return {
      result: null,
      audit: {
        action: "join.applied",
        subjectType: "join_application",
        subjectId: row.id,
        after: { existingMember: false, tier: input.tierKey, confirmBy: row.confirm_expires_at },
      },
      outbox: [outbox],
    };
  },
});

/** The applicant confirms their address through the link: the application joins the admin queue. The
 * link is used up in one statement, so it works once. */
export const confirmApplication = defineAction({
  name: "confirmApplication",
  access: { policy: APPLIES_TO_JOIN },
  effect: "write",
  async run({ trx }, input: { token: string }) {
    const confirmed = await confirmByToken(trx, hashSecret(input.token));
    if (!confirmed) throw joinLinkNotUsable();
    return {
      result: { applicationId: confirmed.id },
      audit: { action: "join.confirmed", subjectType: "join_application", subjectId: confirmed.id },
    };
  },
});

/** The one answer for a confirmation link that does not work, whatever the reason. */
export const joinLinkNotUsable = () =>
  IDENTITY_ERRORS.join_link_not_usable(
    "This confirmation link no longer works: it was already used, or it expired (links work for " +
      `${JOIN_CONFIRM_HOURS} hours). If you already confirmed, the club will write to you; otherwise apply again.`,
  );

/** A confirmed application, locked for a decision: 404 when there is none waiting to be confirmed,
 * 409 when it was decided already. */
async function waitingApplication(trx: Parameters<typeof lockApplication>[0], id: string) {
  const application = await lockApplication(trx, id);
  if (!application || application.status === "unconfirmed") throw notFound();
  if (application.status !== "confirmed") {
    throw IDENTITY_ERRORS.application_decided(
      `This application was already ${application.status}. Nothing was changed; reload the list.`,
    );
  }
  return application;
}

/** Approves a confirmed application: the member is made with the status their tier gives new members
 * (pending or active), with the tier and phone they gave, and invited to choose a password (mailed, or
 * shown once to the admin without a mail server). */
export const approveApplication = defineAction({
  name: "approveApplication",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { applicationId: string; settings: LinkSettings }) {
    const { trx, actor } = scope;
    const application = await waitingApplication(trx, input.applicationId);
    const fields = checkNewMember({ name: application.name, email: application.email });
    const existing = await findMemberByEmail(trx, fields.email);
    if (existing) {
      throw conflict(
        `${fields.email} already belongs to a member${existing.deleted_at ? " (deleted: restore them instead)" : ""}. ` +
          "Reject this application with that reason, or handle the member from their page.",
      );
    }
    const status = application.joinStatus === "active" ? "active" : "pending";
    const member = await insertMember(trx, {
      name: fields.name,
      email: fields.email,
      status,
      reason: "join application approved",
      by: actorRef(actor),
      details: { phone: application.phone, tier_key: application.tier_key },
    });
    await decideApplication(trx, {
      id: application.id,
      status: "approved",
      by: actorRef(actor),
      memberId: member.id,
    });
    const issued = await issueLink(scope, member, "invitation", input.settings, "mail or show");
    return {
      result: issued,
      audit: {
        action: "join.approved",
        subjectType: "join_application",
        subjectId: application.id,
        after: {
          memberId: member.id,
          status,
          tier: application.tier_key,
          invitation: { expiresAt: issued.expiresAt, delivery: deliveryOf(issued) },
        },
      },
      outbox: issued.outbox ? [issued.outbox] : [],
    };
  },
});

/** Rejects a confirmed application with a reason; the applicant is told by mail, with the reason. */
export const rejectApplication = defineAction({
  name: "rejectApplication",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { applicationId: string; reason: string; settings: LinkSettings }) {
    const { trx, actor } = scope;
    const reason = input.reason.trim();
    if (!reason)
      throw invalidInput("Say why the application is rejected; the applicant is told the reason by mail.");
    const application = await waitingApplication(trx, input.applicationId);
    await decideApplication(trx, { id: application.id, status: "rejected", by: actorRef(actor), reason });
    return {
      result: { applicationId: application.id },
      audit: {
        action: "join.rejected",
        subjectType: "join_application",
        subjectId: application.id,
        after: { reason },
      },
      outbox: [
        applicationRejectedEmail({
          applicationId: application.id,
          name: application.name,
          email: application.email,
          clubName: input.settings.clubName,
          reason,
        }),
      ],
    };
  },
});

/** Deletes unconfirmed applications whose confirmation link expired (the scheduled job's action). */
export const purgeUnconfirmedApplications = defineAction({
  name: "purgeUnconfirmedApplications",
  access: { capability: "members:write" },
  effect: "write",
  async run({ trx }) {
    const deleted = await deleteExpiredUnconfirmed(trx);
    return {
      result: { deleted },
      audit: {
        action: "join.unconfirmed_purged",
        subjectType: "join_application",
        subjectId: "expired",
        after: { deleted },
      },
    };
  },
});
