import type { OutboxDraft } from "../../core/action.ts";
import { dateTimeFormat } from "../../core/time-format.ts";
import { renderMarkdown } from "../../http/markdown.ts";
import { clubMessage } from "../mail/message.presenters.ts";

/** The mail the members domain sends: renewal reminders and announcements. Plain text, with the club's
 * name; an announcement also has the HTML of its Markdown (raw HTML escaped, the events renderer). */

/** A date (YYYY-MM-DD) as people read it: "Monday 1 June 2026". */
function longDate(day: string): string {
  return dateTimeFormat("en-GB", { dateStyle: "full", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));
}

/** What a renewal reminder needs. */
export interface ReminderMail {
  memberId: string;
  name: string;
  email: string;
  clubName: string;
  dueOn: string;
  /** Days from the club's today to the renewal date (0: today). */
  daysLeft: number;
  step: number;
  publicUrl: string;
}

/** "Your membership is due for renewal on ...": transactional, so it is sent whatever the member's
 * announcements choice. */
export function renewalReminderEmail(mail: ReminderMail): OutboxDraft {
  const date = longDate(mail.dueOn);
  const when =
    mail.daysLeft === 0
      ? `Your ${mail.clubName} membership is due for renewal today, ${date}.`
      : `Your ${mail.clubName} membership is due for renewal on ${date}, in ${mail.daysLeft} day${mail.daysLeft === 1 ? "" : "s"}.`;
  return clubMessage({
    topic: "member.renewal_reminder",
    recipient: mail.email,
    clubName: mail.clubName,
    name: mail.name,
    subject:
      mail.daysLeft === 0
        ? `Your ${mail.clubName} membership is due for renewal today`
        : `Your ${mail.clubName} membership is due for renewal on ${date}`,
    lines: [
      when,
      "To renew, contact the club's membership secretary or pay your membership fee as usual; once it is recorded your membership runs on for another period.",
      "If your membership is not renewed by then, it lapses the day after: you keep your record, but you can no longer register for members' events until you renew.",
      "",
      `Your details: ${mail.publicUrl}/members/me`,
    ],
    payload: { memberId: mail.memberId, dueOn: mail.dueOn, step: mail.step },
  });
}

/** What one announcement message needs. */
export interface AnnouncementMail {
  announcementId: string;
  memberId: string;
  name: string;
  email: string;
  clubName: string;
  subject: string;
  markdown: string;
  unsubscribeUrl: string;
}

/** One recipient's announcement: optional mail (refused past the outbox bound), with its one-click
 * unsubscribe link in the text and in the List-Unsubscribe headers (RFC 8058). */
export function announcementEmail(mail: AnnouncementMail): OutboxDraft {
  return clubMessage({
    topic: "announcement",
    recipient: mail.email,
    clubName: mail.clubName,
    name: mail.name,
    subject: mail.subject,
    lines: [mail.markdown.trim()],
    footer: [
      `You receive announcements from ${mail.clubName} as a member. To stop them, open: ${mail.unsubscribeUrl}`,
    ],
    html: renderMarkdown(mail.markdown),
    headers: {
      "List-Unsubscribe": `<${mail.unsubscribeUrl}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
    optional: true,
    payload: { announcementId: mail.announcementId, memberId: mail.memberId },
  });
}
