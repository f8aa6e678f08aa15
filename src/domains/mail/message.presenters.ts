import type { OutboxDraft } from "../../core/action.ts";

/* The one frame of every message ClubOS sends (issue 9: "all mail has a plain-text part and the club's
 * name; templates live in one place and are escaped by default"). Each domain's *.messages.ts says what
 * its message is about; this file says how every message looks: the greeting, the lines, the club's name
 * as the sign-off, and the footer. */

/** What one message says, before the frame. */
export interface ClubMessage {
  topic: string;
  recipient: string;
  /** The club's name (CLUBOS_CLUB_NAME), signed under every message. */
  clubName: string;
  /** Who it greets ("Hello Ann,"). */
  name: string;
  subject: string;
  /** The message itself, one line each ("" for a blank line). */
  lines: string[];
  /** Lines below the sign-off (an announcement's unsubscribe note). */
  footer?: string[];
  /** An HTML alternative of the lines, already safe (rendered Markdown with raw HTML escaped); the frame
   * around it is escaped here. The plain-text part always goes. */
  html?: string;
  /** Headers of this message alone (only the names in MESSAGE_HEADERS are ever sent). */
  headers?: Record<string, string>;
  payload?: Record<string, unknown>;
  /** Optional mail (announcements), refused past the outbox bound. */
  optional?: boolean;
}

/** The plain-text part of a framed message. */
export function messageText(m: Pick<ClubMessage, "clubName" | "name" | "lines" | "footer">): string {
  return [`Hello ${m.name},`, "", ...m.lines, "", "--", m.clubName, ...(m.footer ?? [])].join("\n");
}

/** A message as it goes into the outbox: the frame around its lines, in plain text and, when it has an
 * HTML alternative, in HTML with every framed value escaped. */
export function clubMessage(m: ClubMessage): OutboxDraft {
  const html =
    m.html === undefined
      ? undefined
      : [
          `<p>Hello ${escapeHtml(m.name)},</p>`,
          m.html,
          "<hr>",
          `<p>${escapeHtml(m.clubName)}</p>`,
          ...(m.footer ?? []).map((line) => `<p>${escapeHtml(line)}</p>`),
        ].join("");
  const payload = {
    ...m.payload,
    ...(html === undefined ? {} : { html }),
    ...(m.headers ? { headers: m.headers } : {}),
  };
  return {
    topic: m.topic,
    recipient: m.recipient,
    subject: m.subject,
    body: messageText(m),
    payload,
    ...(m.optional ? { optional: true } : {}),
  };
}

/** Text as HTML shows it literally. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
