import type { Transaction } from "kysely";
import { defineAction, type OutboxDraft } from "../../core/action.ts";
import { type Actor, actorRef } from "../../core/actor.ts";
import type { DB } from "../../core/db/schema.ts";
import { invalidInput, notFound } from "../../core/errors.ts";
import { hashSecret, newSecret } from "../../core/secrets.ts";
import { ACTS_ON_MEMBER } from "../members/members.policies.ts";
import { listMembers, lockMember, type MemberListQuery } from "../members/members.repository.ts";
import { linkEmail, linkPath } from "./account-links.messages.ts";
import {
  accessOfMembers,
  consumeLink,
  insertLink,
  type LinkPurpose,
  revokeLinksOf,
} from "./account-links.repository.ts";
import { IDENTITY_ERRORS } from "./identity.errors.ts";
import { ASKS_FOR_RESET, holdsOpenLink, linkNotUsable } from "./identity.policies.ts";
import {
  accountOfMember,
  endSessionsOfAccount,
  findAccountByEmail,
  insertAccount,
  setPassword,
} from "./identity.repository.ts";
import { clearLoginThrottle } from "./login-throttle.ts";
import { assertAcceptablePassword, hashPassword } from "./passwords.ts";

/* Single-use links that give a member a password: an admin's invitation (a first login) and a password
 * reset (asked for on the login page, or sent by an admin). A link's token is made here, mailed through
 * the outbox or (with no mail server) shown once to the admin who asked, and only its hash is stored. */

/** How links are made and delivered, from the configuration. */
export interface LinkSettings {
  publicUrl: string;
  clubName: string;
  invitationDays: number;
  passwordResetMinutes: number;
  /** False without SMTP_URL: mail would only reach the local mailbox, so an admin is shown the link
   * once instead, and nothing holds it in clear. */
  mailConfigured: boolean;
}

/** The link settings of a configuration (the server's and the CLI's alike). */
export function linkSettingsOf(
  config: Omit<LinkSettings, "mailConfigured">,
  mailConfigured: boolean,
): LinkSettings {
  const { publicUrl, clubName, invitationDays, passwordResetMinutes } = config;
  return { publicUrl, clubName, invitationDays, passwordResetMinutes, mailConfigured };
}

/** One member's new link: mailed (an outbox draft), or the link itself to show once. */
export interface Issued {
  memberId: string;
  name: string;
  email: string;
  expiresAt: Date;
  /** How many open links of this kind the new one replaced (a resend kills the old link). */
  replaced: number;
  /** Only when no mail server is configured and an admin asked: shown once, never stored. */
  link?: string;
  outbox?: OutboxDraft;
}

/** Makes a member's new link of this kind, revoking any earlier one in the same transaction. */
export async function issueLink(
  scope: { trx: Transaction<DB>; actor: Actor },
  member: { id: string; name: string; email: string },
  purpose: LinkPurpose,
  settings: LinkSettings,
  delivery: "mail" | "mail or show",
): Promise<Issued> {
  const replaced = await revokeLinksOf(scope.trx, member.id, purpose);
  const token = newSecret();
  const minutes =
    purpose === "invitation" ? settings.invitationDays * 24 * 60 : settings.passwordResetMinutes;
  const row = await insertLink(scope.trx, {
    purpose,
    memberId: member.id,
    tokenHash: hashSecret(token),
    minutes,
    createdBy: actorRef(scope.actor),
  });
  const link = settings.publicUrl + linkPath(purpose, token);
  const expiresAt = new Date(row.expires_at);
  const issued = { memberId: member.id, name: member.name, email: member.email, expiresAt, replaced };
  if (delivery === "mail or show" && !settings.mailConfigured) return { ...issued, link };
  const outbox = linkEmail({
    purpose,
    memberId: member.id,
    name: member.name,
    email: member.email,
    clubName: settings.clubName,
    link,
    expiresAt,
  });
  return { ...issued, outbox };
}

/** The audit's account of a delivery: mailed, or shown to the admin (the link itself never). */
export const deliveryOf = (issued: Issued) => (issued.link ? "shown to the administrator" : "mailed");

/** Invites one member (or sends a new invitation, which kills the old link): a link to choose a password
 * and so get a login. Refused for a member who already has a login. */
export const inviteMember = defineAction({
  name: "inviteMember",
  access: { capability: "members:write", policy: ACTS_ON_MEMBER },
  effect: "admin",
  async run(scope, input: { memberId: string; settings: LinkSettings }) {
    const member = await lockMember(scope.trx, input.memberId);
    if (!member) throw notFound();
    if (await accountOfMember(scope.trx, member.id)) {
      throw IDENTITY_ERRORS.already_has_login(
        `${member.name} already has a login, so no invitation was sent. If they forgot their password, send them a password reset instead.`,
      );
    }
    const issued = await issueLink(scope, member, "invitation", input.settings, "mail or show");
    return {
      result: issued,
      audit: {
        action: issued.replaced > 0 ? "invitation.resent" : "invitation.sent",
        subjectType: "member",
        subjectId: member.id,
        after: { expiresAt: issued.expiresAt, replaced: issued.replaced, delivery: deliveryOf(issued) },
      },
      outbox: issued.outbox ? [issued.outbox] : [],
    };
  },
});

/** The members an invitation to a filtered list reaches, and those it leaves out and why. */
export interface BulkInvitation {
  invited: Issued[];
  alreadyLogin: number;
  alreadyInvited: number;
  outranks: number;
}

/** Filters of the admin member list, without its paging. */
export type MemberFilter = Omit<MemberListQuery, "sort" | "after" | "limit">;

const PAGE = 500;

/** Invites every member of a filtered list (e.g. right after an import) who has no login and no open
 * invitation; those are left as they are (resend one by one). Members who hold permissions the admin
 * does not are left out too, as ACTS_ON_MEMBER would refuse each of them. */
export const inviteMembers = defineAction({
  name: "inviteMembers",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { filter: MemberFilter; settings: LinkSettings }) {
    if (input.filter.deleted) throw invalidInput("Deleted members cannot be invited; restore them first.");
    const outcome: BulkInvitation = { invited: [], alreadyLogin: 0, alreadyInvited: 0, outranks: 0 };
    let after: MemberListQuery["after"];
    for (;;) {
      const rows = await listMembers(scope.trx, { ...input.filter, sort: "name", after, limit: PAGE });
      const access = await accessOfMembers(
        scope.trx,
        rows.map((r) => r.id),
      );
      for (const row of rows) {
        const has = access.get(row.id);
        if (has === "login") outcome.alreadyLogin++;
        else if (has === "invited") outcome.alreadyInvited++;
        else if (!(await mayActOn(scope, row.id))) outcome.outranks++;
        else {
          const member = await lockMember(scope.trx, row.id);
          if (member)
            outcome.invited.push(
              await issueLink(scope, member, "invitation", input.settings, "mail or show"),
            );
        }
      }
      if (rows.length < PAGE) break;
      const last = rows.at(-1)!;
      after = { key: last.sort_key, id: last.id };
    }
    return {
      result: outcome,
      audit: {
        action: "invitations.sent",
        subjectType: "member_list",
        subjectId: "filtered",
        after: {
          filter: input.filter,
          invited: outcome.invited.map((i) => i.memberId),
          delivery: input.settings.mailConfigured ? "mailed" : "shown to the administrator",
          leftOut: {
            withLogin: outcome.alreadyLogin,
            alreadyInvited: outcome.alreadyInvited,
            holdMorePermissions: outcome.outranks,
          },
        },
      },
      outbox: outcome.invited.flatMap((i) => (i.outbox ? [i.outbox] : [])),
    };
  },
});

/** The ACTS_ON_MEMBER rule for one member of a list. */
async function mayActOn(scope: { trx: Transaction<DB>; actor: Actor }, memberId: string) {
  return ACTS_ON_MEMBER.allows({ db: scope.trx, actor: scope.actor }, { memberId });
}

/** Revokes a member's open invitation: its link stops working at once. */
export const revokeInvitation = defineAction({
  name: "revokeInvitation",
  access: { capability: "members:write", policy: ACTS_ON_MEMBER },
  effect: "admin",
  async run({ trx }, input: { memberId: string }) {
    const member = await lockMember(trx, input.memberId);
    if (!member) throw notFound();
    const revoked = await revokeLinksOf(trx, member.id, "invitation");
    if (revoked === 0) {
      throw IDENTITY_ERRORS.no_open_invitation(
        `${member.name} has no open invitation (it was used, it expired, or it was revoked already). Nothing was changed.`,
      );
    }
    return {
      result: { memberId: member.id },
      audit: { action: "invitation.revoked", subjectType: "member", subjectId: member.id },
    };
  },
});

/** A new password from a link's form: typed twice, and acceptable by the password rule. */
function acceptablePassword(input: { password: string; confirm: string }): void {
  if (input.password !== input.confirm)
    throw invalidInput("The two passwords are not the same. Type them again.");
  assertAcceptablePassword(input.password);
}

/** Accepts an invitation: in one transaction the link is used up, the login is made with the chosen
 * password, and the audit entry written. The member then signs in. */
export const acceptInvitation = defineAction({
  name: "acceptInvitation",
  access: { policy: holdsOpenLink("invitation") },
  effect: "write",
  async run({ trx }, input: { token: string; password: string; confirm: string }) {
    acceptablePassword(input);
    const used = await consumeLink(trx, hashSecret(input.token), "invitation");
    if (!used) throw linkNotUsable("invitation");
    if (await accountOfMember(trx, used.member_id)) {
      throw IDENTITY_ERRORS.already_has_login(
        "You already have a login. Sign in, or use “Forgot your password?” on the login page.",
      );
    }
    const accountId = await insertAccount(trx, {
      memberId: used.member_id,
      passwordHash: await hashPassword(input.password),
      mustChangePassword: false,
    });
    return {
      result: { accountId, memberId: used.member_id },
      audit: {
        action: "invitation.accepted",
        subjectType: "member",
        subjectId: used.member_id,
        after: { accountId, linkId: used.id },
      },
    };
  },
});

/** The actor the public forgot-password form runs as: named, holding nothing. */
export const FORGOT_PASSWORD_FORM: Actor = {
  type: "system",
  name: "forgot-password form",
  capabilities: new Set(),
};

/** "Forgot password": for a known address with a login, a reset link by mail (through the outbox, never
 * shown); for any other address nothing is sent. Both do the same work (a token made and hashed, an
 * audit entry written in a transaction), and the caller is told the same thing either way. */
export const requestPasswordReset = defineAction({
  name: "requestPasswordReset",
  access: { policy: ASKS_FOR_RESET },
  effect: "write",
  async run(scope, input: { email: string; settings: LinkSettings }) {
    const emailKey = input.email.trim().toLowerCase();
    const found = await findAccountByEmail(scope.trx, emailKey);
    const member = found && !found.disabledAt ? await lockMember(scope.trx, found.memberId) : undefined;
    if (!member) {
      hashSecret(newSecret()); // the work a known address does, so timing tells nothing
      return {
        result: null,
        audit: {
          action: "password_reset.requested",
          subjectType: "email",
          subjectId: hashSecret(emailKey), // not the address: whatever anyone types stays out of the log
          after: { sent: false },
        },
      };
    }
    const issued = await issueLink(scope, member, "password_reset", input.settings, "mail");
    return {
      result: null,
      audit: {
        action: "password_reset.requested",
        subjectType: "member",
        subjectId: member.id,
        after: { sent: true, expiresAt: issued.expiresAt },
      },
      outbox: issued.outbox ? [issued.outbox] : [],
    };
  },
});

/** An admin sends a member a password-reset link (shown once instead when no mail server is set). */
export const sendPasswordReset = defineAction({
  name: "sendPasswordReset",
  access: { capability: "members:write", policy: ACTS_ON_MEMBER },
  effect: "admin",
  async run(scope, input: { memberId: string; settings: LinkSettings }) {
    const member = await lockMember(scope.trx, input.memberId);
    if (!member) throw notFound();
    if (!(await accountOfMember(scope.trx, member.id))) {
      throw IDENTITY_ERRORS.no_login(
        `${member.name} has no login yet, so there is no password to reset. Send them an invitation instead.`,
      );
    }
    const issued = await issueLink(scope, member, "password_reset", input.settings, "mail or show");
    return {
      result: issued,
      audit: {
        action: "password_reset.sent",
        subjectType: "member",
        subjectId: member.id,
        after: { expiresAt: issued.expiresAt, replaced: issued.replaced, delivery: deliveryOf(issued) },
      },
      outbox: issued.outbox ? [issued.outbox] : [],
    };
  },
});

/** Sets a new password through a reset link: the link is used up, every session of the account ends
 * (the person signs in again with the new password), and the login throttle of the address is cleared. */
export const completePasswordReset = defineAction({
  name: "completePasswordReset",
  access: { policy: holdsOpenLink("password_reset") },
  effect: "write",
  async run({ trx }, input: { token: string; password: string; confirm: string }) {
    acceptablePassword(input);
    const used = await consumeLink(trx, hashSecret(input.token), "password_reset");
    const account = used ? await accountOfMember(trx, used.member_id) : undefined;
    if (!used || !account) throw linkNotUsable("password_reset");
    await setPassword(trx, account.id, await hashPassword(input.password));
    const sessionsEnded = await endSessionsOfAccount(trx, account.id, "password_reset");
    const member = await lockMember(trx, used.member_id);
    // A new password is not held back by the guesses made before it.
    const throttlesCleared = member ? await clearLoginThrottle(trx, member.email) : 0;
    return {
      result: { accountId: account.id },
      audit: {
        action: "password_reset.completed",
        subjectType: "account",
        subjectId: account.id,
        after: { sessionsEnded, linkId: used.id, throttlesCleared },
      },
    };
  },
});
