import type { FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import type { MemberChanges } from "./member-fields.ts";
import type { MemberListQuery, MemberListRow } from "./members.repository.ts";
import type { MemberForm, ProfileForm, MemberListQuery as Query } from "./members.schemas.ts";

/* Route input as the actions and the repository take it: the member forms (their values are text)
 * and the list's query string with its keyset cursor. One reader per form, used by every route that
 * receives it. */

/** The member's own form as changes: contact details and the directory choice (unchecked is "in"). */
export function profileChanges(body: ProfileForm): MemberChanges {
  const optOut = body.directory_opt_out === "1" || body.directory_opt_out === "on";
  const changes: MemberChanges = { directory_opt_out: optOut };
  if (body.name !== undefined) changes.name = body.name;
  if (body.phone !== undefined) changes.phone = body.phone;
  if (body.address !== undefined) changes.address = body.address;
  return changes;
}

/** The admin's member form as changes; an empty date or tier means none (the joining date stays). */
export function memberFormChanges(body: MemberForm): MemberChanges {
  const changes = profileChanges(body);
  if (body.email !== undefined) changes.email = body.email;
  if (body.joined_on) changes.joined_on = body.joined_on;
  if (body.tier_key !== undefined) changes.tier_key = body.tier_key || null;
  if (body.renewal_due_on !== undefined) changes.renewal_due_on = body.renewal_due_on || null;
  if (body.admin_notes !== undefined) changes.admin_notes = body.admin_notes;
  return changes;
}

/** Leaves out an email that is the one the member already has, so that saving a whole form does not
 * read as re-addressing them (which the last full administrator may not be). */
export function withoutSameEmail(changes: MemberChanges, current: string | undefined): MemberChanges {
  if (changes.email === undefined || current === undefined) return changes;
  if (changes.email.trim() !== current) return changes;
  const { email: _same, ...rest } = changes;
  return rest;
}

/** The list query as the repository takes it; a cursor that does not decode starts from the top. */
export function listQuery(q: Query): MemberListQuery {
  let after: MemberListQuery["after"];
  if (q.after) {
    const [key, id] = Buffer.from(q.after, "base64url").toString("utf8").split("\n");
    if (key !== undefined && id && UUID.test(id)) after = { key, id };
  }
  return {
    search: q.search?.trim() || undefined,
    status: q.status && q.status !== "deleted" ? q.status : undefined,
    deleted: q.status === "deleted",
    tier: q.tier || undefined,
    committeeId: q.committee || undefined,
    sort: q.sort === "joined" ? "joined" : "name",
    after,
    limit: q.limit ?? 50,
  };
}

/** The cursor of the page after these rows, or undefined on the last page. */
export function cursorAfter(rows: MemberListRow[], limit: number): string | undefined {
  const last = rows.at(-1);
  return rows.length === limit && last
    ? Buffer.from(`${last.sort_key}\n${last.id}`).toString("base64url")
    : undefined;
}

/** The signed-in member's id; anyone else (an operator's token) has no "own details". */
export function ownMemberId(request: FastifyRequest): string {
  const { actor } = request.auth;
  if (actor.type !== "member") throw notFound();
  return actor.memberId;
}
