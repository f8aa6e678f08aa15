import type { Static } from "typebox";
import type { AnnouncementWithCounts } from "./announcements.repository.ts";
import type { AnnouncementOut, AnnouncementSentOut } from "./announcements.schemas.ts";

type AnnouncementDetail = Static<typeof AnnouncementOut>["announcement"];

/** An announcement in the list: what it said on the subject line, to whom, and what became of it. */
export function presentAnnouncementSummary(
  a: AnnouncementWithCounts,
): Omit<AnnouncementDetail, "body" | "audience"> {
  return {
    id: a.id,
    subject: a.subject,
    audienceLabel: a.audience_label,
    sentBy: a.sent_by,
    createdAt: new Date(a.created_at).toISOString(),
    counts: {
      total: Number(a.total),
      queued: Number(a.queued),
      held: Number(a.held),
      sent: Number(a.sent),
      failed: Number(a.failed),
      skippedOptedOut: Number(a.skipped_opted_out),
      skippedUndeliverable: Number(a.skipped_undeliverable),
    },
  };
}

/** One announcement with its text and audience. */
export function presentAnnouncement(a: AnnouncementWithCounts): AnnouncementDetail {
  return { ...presentAnnouncementSummary(a), body: a.body, audience: a.audience };
}

/** The answer to a send. */
export function presentAnnouncementSent(r: {
  id: string;
  queued: number;
  skipped_opted_out: number;
  skipped_undeliverable: number;
}): Static<typeof AnnouncementSentOut> {
  return {
    id: r.id,
    queued: r.queued,
    skippedOptedOut: r.skipped_opted_out,
    skippedUndeliverable: r.skipped_undeliverable,
  };
}
