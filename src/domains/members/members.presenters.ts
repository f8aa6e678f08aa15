import { dateOnly, iso, isoOrNull } from "../../http/present.ts";
import type { MemberChanges } from "./member-fields.ts";
import type { MemberStatus } from "./member-status.ts";
import type { MemberListRow, MemberRow } from "./members.repository.ts";
import type {
  MemberChangesBody,
  MemberOut,
  MemberSummaryOut,
  OwnChangesBody,
  OwnMemberOut,
  RenewedMemberOut,
} from "./members.schemas.ts";

/* What the members API shows of its rows, and how its JSON fields map to the record's columns:
 * camelCase, ISO 8601 times, calendar days as YYYY-MM-DD, no internal columns. Every JSON response of
 * the members routes goes through one of these (and its schema in members.schemas.ts). */

/** A member's own record: everything but the admins' notes. */
export function presentOwnMember(m: MemberRow): OwnMemberOut {
  return {
    id: m.id,
    name: m.name,
    email: m.email,
    phone: m.phone,
    address: m.address,
    status: m.status as MemberStatus,
    directoryOptOut: m.directory_opt_out,
    emailAnnouncements: m.email_announcements,
    joinedOn: dateOnly(m.joined_on)!,
    tierKey: m.tier_key,
    renewalDueOn: dateOnly(m.renewal_due_on),
    version: m.version,
    createdAt: iso(m.created_at),
    updatedAt: iso(m.updated_at),
  };
}

/** A member record for those with members:read. */
export function presentMember(m: MemberRow): MemberOut {
  return { ...presentOwnMember(m), adminNotes: m.admin_notes, deletedAt: isoOrNull(m.deleted_at) };
}

/** A row of the admin list. */
export function presentMemberSummary(m: MemberListRow): MemberSummaryOut {
  return {
    id: m.id,
    name: m.name,
    email: m.email,
    status: m.status as MemberStatus,
    tierKey: m.tier_key,
    joinedOn: dateOnly(m.joined_on)!,
    renewalDueOn: dateOnly(m.renewal_due_on),
    version: m.version,
  };
}

/** A renewal's result. */
export function presentRenewal(r: {
  id: string;
  name: string;
  status: string;
  tier_key: string | null;
  renewal_due_on: string;
  version: number;
}): RenewedMemberOut {
  return {
    id: r.id,
    name: r.name,
    status: r.status as MemberStatus,
    tierKey: r.tier_key,
    renewalDueOn: r.renewal_due_on,
    version: r.version,
  };
}

const COLUMN_OF = {
  name: "name",
  email: "email",
  phone: "phone",
  address: "address",
  directoryOptOut: "directory_opt_out",
  joinedOn: "joined_on",
  tierKey: "tier_key",
  renewalDueOn: "renewal_due_on",
  adminNotes: "admin_notes",
} as const satisfies Record<keyof MemberChangesBody, keyof MemberChanges>;

/** A JSON change (camelCase fields) as the record's columns the actions take. */
export function changesFromJson(body: MemberChangesBody | OwnChangesBody): MemberChanges {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    const column = COLUMN_OF[field as keyof typeof COLUMN_OF];
    if (column && value !== undefined) out[column] = value;
  }
  return out as MemberChanges;
}
