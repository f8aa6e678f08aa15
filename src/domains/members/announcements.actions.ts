import { randomUUID } from "node:crypto";
import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { invalidInput, notFound } from "../../core/errors.ts";
import { hashSecret, newSecret } from "../../core/secrets.ts";
import {
  type Audience,
  type AudienceMember,
  audienceMembers,
  audienceNames,
  insertAnnouncement,
  insertUnsubscribeLinks,
  markLinkUsed,
} from "./announcements.repository.ts";
import { announcementEmail } from "./members.messages.ts";
import { HOLDS_UNSUBSCRIBE_LINK } from "./members.policies.ts";
import { lockMember, setEmailAnnouncements } from "./members.repository.ts";

/** Where links in mail point and whose name the mail carries (linkSettingsOf: never a request's Host). */
export interface AnnouncementSettings {
  publicUrl: string;
  clubName: string;
}

/** The path of a one-click unsubscribe link. */
export const unsubscribePath = (token: string) => `/unsubscribe/${token}`;

/** An audience split into who gets the message and who is skipped, and why. */
export interface AudienceSplit {
  recipients: AudienceMember[];
  optedOut: number;
  undeliverable: number;
}

/** Who of an audience is sent the announcement: not those who turned announcements off (counted as
 * opted out, whatever else), nor addresses a mail server refused for good. */
export function splitAudience(members: AudienceMember[]): AudienceSplit {
  const recipients = members.filter((m) => !m.opted_out && !m.undeliverable);
  const optedOut = members.filter((m) => m.opted_out).length;
  return { recipients, optedOut, undeliverable: members.length - recipients.length - optedOut };
}

/** The audience in words ("active members in the Standard tier ..."); refuses a part that names nothing
 * (a committee or event that does not exist), so a typo never sends to a wider audience. */
export async function describeAudience(
  db: Parameters<typeof audienceNames>[0],
  audience: Audience,
): Promise<string> {
  const names = await audienceNames(db, audience);
  const parts = [`${audience.status ?? "all"} members`];
  if (audience.tierKey) {
    if (!names.tier) throw invalidInput("That membership tier does not exist. Choose one from the list.");
    parts.push(`in the ${names.tier} tier`);
  }
  if (audience.committeeId) {
    if (!names.committee) throw invalidInput("That committee does not exist. Choose one from the list.");
    parts.push(`on the ${names.committee} committee`);
  }
  if (audience.eventId) {
    if (!names.event) throw invalidInput("That event does not exist. Choose one from the list.");
    parts.push(`registered for ${names.event}`);
  }
  return parts.join(", ");
}

/** What an admin sends. */
export interface AnnouncementInput {
  subject: string;
  body: string;
  audience: Audience;
  settings: AnnouncementSettings;
}

/** Sends an announcement: one audited action that records it, makes each recipient's unsubscribe link
 * (only its hash is kept) and writes one outbox message per recipient, all or nothing. Optional mail:
 * past the outbox bound (CLUBOS_OUTBOX_MAX_DEPTH) the whole action is refused and nothing is written. */
export const sendAnnouncement = defineAction({
  name: "sendAnnouncement",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx, actor }, input: AnnouncementInput) {
    const subject = input.subject.trim();
    const body = input.body.trim();
    if (!subject) throw invalidInput("Give the announcement a subject: it is the first thing members see.");
    if (!body) throw invalidInput("The message is empty. Write what you want to tell members.");
    const audienceLabel = await describeAudience(trx, input.audience);
    const split = splitAudience(await audienceMembers(trx, input.audience));
    if (split.recipients.length === 0) {
      throw invalidInput(
        `Nobody would receive this: the audience (${audienceLabel}) has no member who accepts announcements at a working address. Choose a wider audience.`,
      );
    }
    const id = randomUUID();
    await insertAnnouncement(trx, {
      id,
      subject,
      body,
      audience: input.audience,
      audienceLabel,
      queued: split.recipients.length,
      skippedOptedOut: split.optedOut,
      skippedUndeliverable: split.undeliverable,
      sentBy: actorRef(actor),
    });
    const links: { tokenHash: string; memberId: string }[] = [];
    const outbox = split.recipients.map((m) => {
      const token = newSecret();
      links.push({ tokenHash: hashSecret(token), memberId: m.id });
      return announcementEmail({
        announcementId: id,
        memberId: m.id,
        name: m.name,
        email: m.email,
        clubName: input.settings.clubName,
        subject,
        markdown: body,
        unsubscribeUrl: input.settings.publicUrl + unsubscribePath(token),
      });
    });
    await insertUnsubscribeLinks(trx, id, links);
    const counts = {
      queued: split.recipients.length,
      skipped_opted_out: split.optedOut,
      skipped_undeliverable: split.undeliverable,
    };
    return {
      result: { id, ...counts },
      audit: {
        action: "announcement.sent",
        subjectType: "announcement",
        subjectId: id,
        after: { subject, audience: input.audience, audience_label: audienceLabel, ...counts },
      },
      outbox,
    };
  },
});

/** Turns a member's announcements off through the link in an announcement (RFC 8058 one-click): no
 * login, the link names the member and the action runs as them. A second use changes and records
 * nothing (the choice is already off). */
export const unsubscribeFromAnnouncements = defineAction({
  name: "unsubscribeFromAnnouncements",
  access: { policy: HOLDS_UNSUBSCRIBE_LINK },
  effect: "write",
  async unchanged({ trx, actor }) {
    if (actor.type !== "member") return undefined;
    // Under the member's row lock, so two clicks at once record one change.
    const member = await lockMember(trx, actor.memberId);
    return member && !member.email_announcements ? ("already off" as const) : undefined;
  },
  async run({ trx, actor }, input: { token: string }) {
    if (actor.type !== "member") throw notFound();
    const changed = await setEmailAnnouncements(trx, actor.memberId, false);
    if (!changed) throw notFound();
    await markLinkUsed(trx, hashSecret(input.token));
    return {
      result: "turned off" as const,
      audit: {
        action: "member.email_preferences_changed",
        subjectType: "member",
        subjectId: actor.memberId,
        before: { announcements: changed.before.email_announcements },
        after: { announcements: false },
        reason: "one-click unsubscribe link in an announcement",
      },
    };
  },
});
