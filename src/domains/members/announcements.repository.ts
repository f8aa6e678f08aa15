import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import { termIsCurrent } from "../committees/committees.repository.ts";
import type { MemberStatus } from "./member-status.ts";

/** Announcements (migration 0025): who an audience is, the announcements sent, their one-click
 * unsubscribe links, and what became of each message (read from its outbox row). */

/** Who an announcement is for: every undeleted member who matches all of what is set. */
export interface Audience {
  status?: MemberStatus;
  tierKey?: string;
  /** Members holding a current term on this committee. */
  committeeId?: string;
  /** Members with a confirmed or waitlisted place at this event. */
  eventId?: string;
}

/** One member of an audience, with why they would be skipped. */
export interface AudienceMember {
  id: string;
  name: string;
  email: string;
  opted_out: boolean;
  undeliverable: boolean;
}

/** Everyone in the audience, in id order, each with their announcements choice and whether a mail
 * server refused their address for good (mail_undeliverable). */
export function audienceMembers(db: Kysely<DB>, a: Audience): Promise<AudienceMember[]> {
  let query = db
    .selectFrom("members")
    .select([
      "members.id",
      "members.name",
      "members.email",
      sql<boolean>`NOT members.email_announcements`.as("opted_out"),
      sql<boolean>`EXISTS (SELECT 1 FROM mail_undeliverable u WHERE u.address = lower(members.email))`.as(
        "undeliverable",
      ),
    ])
    .where("members.deleted_at", "is", null)
    .orderBy("members.id");
  if (a.status) query = query.where("members.status", "=", a.status);
  if (a.tierKey) query = query.where("members.tier_key", "=", a.tierKey);
  if (a.committeeId) {
    const committeeId = a.committeeId;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom("committee_memberships")
          .select(sql`1`.as("one"))
          .whereRef("committee_memberships.member_id", "=", "members.id")
          .where("committee_memberships.committee_id", "=", committeeId)
          .where(termIsCurrent()),
      ),
    );
  }
  if (a.eventId) {
    const eventId = a.eventId;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom("registrations")
          .select(sql`1`.as("one"))
          .whereRef("registrations.member_id", "=", "members.id")
          .where("registrations.event_id", "=", eventId)
          .where("registrations.status", "in", ["confirmed", "waitlisted"]),
      ),
    );
  }
  return query.execute();
}

/** What the audience form offers: tiers, committees and events by name. */
export async function audienceChoices(db: Kysely<DB>) {
  const [tiers, committees, events] = await Promise.all([
    db.selectFrom("membership_tiers").select(["key", "name"]).orderBy("name").execute(),
    db.selectFrom("committees").select(["id", "name"]).orderBy("name").execute(),
    db
      .selectFrom("events")
      .select(["id", "title", "starts_at"])
      .where("status", "in", ["published", "completed"])
      .orderBy("starts_at", "desc")
      .limit(200)
      .execute(),
  ]);
  return { tiers, committees, events };
}

/** The names an audience's parts stand for; a part that names nothing comes back missing. */
export async function audienceNames(db: Kysely<DB>, a: Audience) {
  const [tier, committee, event] = await Promise.all([
    a.tierKey
      ? db.selectFrom("membership_tiers").select("name").where("key", "=", a.tierKey).executeTakeFirst()
      : undefined,
    a.committeeId && UUID.test(a.committeeId)
      ? db.selectFrom("committees").select("name").where("id", "=", a.committeeId).executeTakeFirst()
      : undefined,
    a.eventId && UUID.test(a.eventId)
      ? db.selectFrom("events").select("title").where("id", "=", a.eventId).executeTakeFirst()
      : undefined,
  ]);
  return { tier: tier?.name, committee: committee?.name, event: event?.title };
}

/** Records a sent announcement. */
export async function insertAnnouncement(
  trx: Transaction<DB>,
  row: {
    id: string;
    subject: string;
    body: string;
    audience: Audience;
    audienceLabel: string;
    queued: number;
    skippedOptedOut: number;
    skippedUndeliverable: number;
    sentBy: string;
  },
) {
  return trx
    .insertInto("announcements")
    .values({
      id: row.id,
      subject: row.subject,
      body: row.body,
      audience: JSON.stringify(row.audience),
      audience_label: row.audienceLabel,
      queued: row.queued,
      skipped_opted_out: row.skippedOptedOut,
      skipped_undeliverable: row.skippedUndeliverable,
      sent_by: row.sentBy,
    })
    .returning(["id", "created_at"])
    .executeTakeFirstOrThrow();
}

const LINK_CHUNK = 1000;

/** Stores the hashes of one announcement's unsubscribe links, one per recipient. */
export async function insertUnsubscribeLinks(
  trx: Transaction<DB>,
  announcementId: string,
  links: { tokenHash: string; memberId: string }[],
): Promise<void> {
  for (let i = 0; i < links.length; i += LINK_CHUNK) {
    await trx
      .insertInto("unsubscribe_links")
      .values(
        links.slice(i, i + LINK_CHUNK).map((l) => ({
          token_hash: l.tokenHash,
          member_id: l.memberId,
          announcement_id: announcementId,
        })),
      )
      .execute();
  }
}

/** The undeleted member an unsubscribe link was made for, or undefined. */
export function unsubscribeLinkOwner(db: Kysely<DB>, tokenHash: string) {
  return db
    .selectFrom("unsubscribe_links")
    .innerJoin("members", "members.id", "unsubscribe_links.member_id")
    .select(["members.id as memberId", "members.name", "members.email_announcements"])
    .where("unsubscribe_links.token_hash", "=", tokenHash)
    .where("members.deleted_at", "is", null)
    .executeTakeFirst();
}

/** Notes the first use of a link (for the audit trail of who unsubscribed how). */
export async function markLinkUsed(trx: Transaction<DB>, tokenHash: string): Promise<void> {
  await trx
    .updateTable("unsubscribe_links")
    .set({ used_at: sql<Date>`now()` })
    .where("token_hash", "=", tokenHash)
    .where("used_at", "is", null)
    .execute();
}

/** Announcements newest first, each with what became of its messages: counted from the outbox rows it
 * wrote (queued: waiting; held: kept in the local mailbox; failed: dead letters), and the skipped counts
 * recorded when it was sent. */
export async function announcementHistory(db: Kysely<DB>, limit: number, id?: string) {
  const { rows } = await sql<AnnouncementWithCounts>`
    SELECT a.id, a.subject, a.body, a.audience, a.audience_label, a.sent_by, a.created_at,
           a.skipped_opted_out, a.skipped_undeliverable,
           count(o.id)::integer AS total,
           (count(*) FILTER (WHERE o.status = 'pending'))::integer AS queued,
           (count(*) FILTER (WHERE o.status = 'held'))::integer AS held,
           (count(*) FILTER (WHERE o.status = 'sent'))::integer AS sent,
           (count(*) FILTER (WHERE o.status IN ('dead', 'failed', 'cancelled')))::integer AS failed
    FROM (SELECT * FROM announcements ${id === undefined ? sql`` : sql`WHERE id = ${id}::uuid`}
          ORDER BY created_at DESC, id DESC LIMIT ${limit}) a
    LEFT JOIN outbox o ON o.payload ? 'announcementId' AND o.payload->>'announcementId' = a.id::text
    GROUP BY a.id, a.subject, a.body, a.audience, a.audience_label, a.sent_by, a.created_at,
             a.skipped_opted_out, a.skipped_undeliverable
    ORDER BY a.created_at DESC, a.id DESC`.execute(db);
  return rows;
}

/** One announcement with its counts, or undefined (also for a malformed id: it names nothing). */
export async function announcementWithCounts(db: Kysely<DB>, id: string) {
  if (!UUID.test(id)) return undefined;
  return (await announcementHistory(db, 1, id))[0];
}

/** An announcement with what became of its messages (announcementHistory). */
export interface AnnouncementWithCounts {
  id: string;
  subject: string;
  body: string;
  audience: Audience;
  audience_label: string;
  sent_by: string;
  created_at: Date;
  skipped_opted_out: number;
  skipped_undeliverable: number;
  total: number;
  queued: number;
  held: number;
  sent: number;
  failed: number;
}

/** One announcement row. */
export function findAnnouncement(db: Kysely<DB>, id: string) {
  if (!UUID.test(id)) return Promise.resolve(undefined);
  return db.selectFrom("announcements").selectAll().where("id", "=", id).executeTakeFirst();
}
