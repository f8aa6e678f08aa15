import type { OutboxDraft } from "../../core/action.ts";
import { clubMessage } from "../mail/message.presenters.ts";
import type { LinkPurpose } from "./account-links.repository.ts";

/** What a link's mail needs: who it is for, the club, the link and when it stops working. */
export interface LinkMail {
  purpose: LinkPurpose;
  memberId: string;
  name: string;
  email: string;
  clubName: string;
  link: string;
  expiresAt: Date;
}

/** The path of a link's page: /invitation/<token> or /password-reset/<token>. */
export function linkPath(purpose: LinkPurpose, token: string): string {
  return `${purpose === "invitation" ? "/invitation" : "/password-reset"}/${token}`;
}

const validFor = (expiresAt: Date) => {
  const minutes = Math.round((expiresAt.getTime() - Date.now()) / 60_000);
  return minutes >= 48 * 60 ? `${Math.round(minutes / 1440)} days` : `${minutes} minutes`;
};

/** The invitation or reset message. The payload names the member only: the link is in the body alone. */
export function linkEmail(mail: LinkMail): OutboxDraft {
  const invitation = mail.purpose === "invitation";
  const lines = invitation
    ? [
        `You are invited to sign in to ${mail.clubName}'s members' site.`,
        "Open this link to choose your password:",
        "",
        mail.link,
        "",
        `The link works once, for ${validFor(mail.expiresAt)}. If it has expired, ask the club for a new invitation.`,
      ]
    : [
        `Someone asked to reset the password of your ${mail.clubName} login.`,
        "Open this link to choose a new password:",
        "",
        mail.link,
        "",
        `The link works once, for ${validFor(mail.expiresAt)}. Choosing a new password signs you out everywhere else.`,
        "If you did not ask for this, ignore this message: your password stays as it is.",
      ];
  return clubMessage({
    topic: invitation ? "account.invitation" : "account.password_reset",
    recipient: mail.email,
    clubName: mail.clubName,
    name: mail.name,
    subject: invitation ? `Your invitation to ${mail.clubName}` : `Reset your ${mail.clubName} password`,
    lines,
    payload: { memberId: mail.memberId },
  });
}
