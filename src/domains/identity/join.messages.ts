import type { OutboxDraft } from "../../core/action.ts";
import { clubMessage } from "../mail/message.presenters.ts";

/* The mail of the join form: the applicant's confirmation link, the note to an existing member whose
 * address someone applied with, and the answer to a rejected application. (An approved application's
 * invitation is the invitation mail, account-links.messages.ts.) */

/** The path of an application's confirmation link. */
export const joinConfirmPath = (token: string) => `/join/confirm/${token}`;

/** Asks the applicant to confirm their address; only then does the application reach the club. */
export function confirmApplicationEmail(mail: {
  applicationId: string;
  name: string;
  email: string;
  clubName: string;
  link: string;
  hours: number;
}): OutboxDraft {
  return clubMessage({
    topic: "join.confirm_email",
    recipient: mail.email,
    clubName: mail.clubName,
    name: mail.name,
    subject: `Confirm your application to ${mail.clubName}`,
    lines: [
      `Thank you for applying to join ${mail.clubName}. Open this link to confirm your email address:`,
      "",
      mail.link,
      "",
      `The link works for ${mail.hours} hours. Once you confirm, the club looks at your application and writes to you.`,
      "If you did not apply, ignore this message: nothing happens unless the link is opened.",
    ],
    payload: { applicationId: mail.applicationId },
  });
}

/** Tells a member that someone applied to join with their address (the form's answer never says). */
export function alreadyMemberEmail(mail: {
  memberId: string;
  name: string;
  email: string;
  clubName: string;
  publicUrl: string;
}): OutboxDraft {
  return clubMessage({
    topic: "join.already_member",
    recipient: mail.email,
    clubName: mail.clubName,
    name: mail.name,
    subject: `Someone asked to join ${mail.clubName} with your address`,
    lines: [
      `Someone asked to join ${mail.clubName} with your email address, which already belongs to a member: you.`,
      "If it was you, you need not apply: sign in, or reset your password if you forgot it:",
      "",
      `${mail.publicUrl}/login`,
      `${mail.publicUrl}/password-reset`,
      "",
      "If it was not you, ignore this message: nothing was changed.",
    ],
    payload: { memberId: mail.memberId },
  });
}

/** Tells the applicant their application was not accepted, and why. */
export function applicationRejectedEmail(mail: {
  applicationId: string;
  name: string;
  email: string;
  clubName: string;
  reason: string;
}): OutboxDraft {
  return clubMessage({
    topic: "join.rejected",
    recipient: mail.email,
    clubName: mail.clubName,
    name: mail.name,
    subject: `Your application to ${mail.clubName}`,
    lines: [
      `Thank you for applying to join ${mail.clubName}. We are sorry: your application was not accepted.`,
      "",
      `The reason given: ${mail.reason}`,
      "",
      "If you have questions, reply to this message or contact the club.",
    ],
    payload: { applicationId: mail.applicationId },
  });
}
