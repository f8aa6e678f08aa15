import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../../core/db/schema.ts";

/** The SQL of single-use account links (migration 0018): invitations and password resets. A link is
 * stored by the hash of its token only; "open" means not used, not revoked and not past its expiry. */

/** What a link is for. */
export type LinkPurpose = "invitation" | "password_reset";

/** An open link by the hash of its token, with its undeleted member (and their account, if any). */
export function findOpenLink(db: Kysely<DB>, tokenHash: string, purpose: LinkPurpose) {
  return db
    .selectFrom("account_links as l")
    .innerJoin("members as m", "m.id", "l.member_id")
    .leftJoin("accounts as a", "a.member_id", "m.id")
    .select([
      "l.id as linkId",
      "l.expires_at as expiresAt",
      "m.id as memberId",
      "m.name as name",
      "m.email as email",
      "a.id as accountId",
    ])
    .where("l.token_hash", "=", tokenHash)
    .where("l.purpose", "=", purpose)
    .where("l.used_at", "is", null)
    .where("l.revoked_at", "is", null)
    .where("l.expires_at", ">", sql<Date>`now()`)
    .where("m.deleted_at", "is", null)
    .executeTakeFirst();
}

/** Marks an open link used, in one statement, so two uses at once cannot both succeed: the link's
 * member, or undefined when it was not open (used, revoked, expired, or never existed). */
export async function consumeLink(trx: Transaction<DB>, tokenHash: string, purpose: LinkPurpose) {
  return trx
    .updateTable("account_links")
    .set({ used_at: sql`now()` })
    .where("token_hash", "=", tokenHash)
    .where("purpose", "=", purpose)
    .where("used_at", "is", null)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .returning(["id", "member_id"])
    .executeTakeFirst();
}

/** Revokes every link of this kind of a member that is not used or revoked yet (expired ones too, so the
 * one-open-link index admits a new one); returns how many were still open (not expired). */
export async function revokeLinksOf(trx: Transaction<DB>, memberId: string, purpose: LinkPurpose) {
  const rows = await trx
    .updateTable("account_links")
    .set({ revoked_at: sql`now()` })
    .where("member_id", "=", memberId)
    .where("purpose", "=", purpose)
    .where("used_at", "is", null)
    .where("revoked_at", "is", null)
    .returning(sql<boolean>`expires_at > now()`.as("wasOpen"))
    .execute();
  return rows.filter((r) => r.wasOpen).length;
}

/** Stores a new link (by its hash) valid for `minutes`; returns its id and expiry. */
export function insertLink(
  trx: Transaction<DB>,
  link: { purpose: LinkPurpose; memberId: string; tokenHash: string; minutes: number; createdBy: string },
) {
  return trx
    .insertInto("account_links")
    .values({
      purpose: link.purpose,
      member_id: link.memberId,
      token_hash: link.tokenHash,
      expires_at: sql`now() + make_interval(mins => ${link.minutes})`,
      created_by: link.createdBy,
    })
    .returning(["id", "expires_at"])
    .executeTakeFirstOrThrow();
}

/** How a member can get in, as the admin member list shows it. */
export type MemberAccess = "login" | "invited";

/** For these members: who has a login, and who has an open invitation (a login wins). */
export async function accessOfMembers(
  db: Kysely<DB>,
  memberIds: string[],
): Promise<Map<string, MemberAccess>> {
  const access = new Map<string, MemberAccess>();
  if (memberIds.length === 0) return access;
  const invited = await db
    .selectFrom("account_links")
    .select("member_id")
    .where("member_id", "in", memberIds)
    .where("purpose", "=", "invitation")
    .where("used_at", "is", null)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .execute();
  for (const row of invited) access.set(row.member_id, "invited");
  const logins = await db
    .selectFrom("accounts")
    .select("member_id")
    .where("member_id", "in", memberIds)
    .execute();
  for (const row of logins) access.set(row.member_id, "login");
  return access;
}

/** A member's open invitation, if any: when it was sent and until when it works. */
export function openInvitationOf(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("account_links")
    .select(["id", "created_at", "expires_at", "created_by"])
    .where("member_id", "=", memberId)
    .where("purpose", "=", "invitation")
    .where("used_at", "is", null)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
}

/** Revokes every link not used or revoked yet (a restore's links are the backup's: one used or revoked
 * since must not work again); returns the members and purposes of those still open (not expired). */
export async function revokeEveryUnusedLink(trx: Transaction<DB>) {
  const rows = await trx
    .updateTable("account_links")
    .set({ revoked_at: sql`now()` })
    .where("used_at", "is", null)
    .where("revoked_at", "is", null)
    .returning(["member_id as memberId", "purpose", sql<boolean>`expires_at > now()`.as("wasOpen")])
    .execute();
  return rows
    .filter((r) => r.wasOpen)
    .map((r) => ({ memberId: r.memberId, purpose: r.purpose as LinkPurpose }));
}
