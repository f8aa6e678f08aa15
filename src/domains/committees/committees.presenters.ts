import type { Static } from "typebox";
import { iso, isoOrNull } from "../../http/present.ts";
import type { CommitteeDetailOut, CommitteeListOut, CommitteeOut, TermOut } from "./committees.schemas.ts";

/* What the committees API shows of its rows: camelCase, ISO 8601 times, no internal columns. */

type Role = "chair" | "member";

/** A committee. */
export function presentCommittee(c: {
  id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}): Static<typeof CommitteeOut> {
  return { id: c.id, name: c.name, createdAt: iso(c.created_at), updatedAt: iso(c.updated_at) };
}

/** A committee in the list. */
export function presentCommitteeSummary(c: {
  id: string;
  name: string;
  created_at: Date;
  current_members: number;
}): Static<typeof CommitteeListOut>["committees"][number] {
  return { id: c.id, name: c.name, createdAt: iso(c.created_at), currentMembers: Number(c.current_members) };
}

/** A term row. */
export function presentTerm(t: {
  id: string;
  committee_id: string;
  member_id: string;
  role: string;
  starts_at: Date;
  ends_at: Date | null;
  granted_by: string;
  ended_by: string | null;
  version: number;
}): Static<typeof TermOut> {
  return {
    id: t.id,
    committeeId: t.committee_id,
    memberId: t.member_id,
    role: t.role as Role,
    startsAt: iso(t.starts_at),
    endsAt: isoOrNull(t.ends_at),
    grantedBy: t.granted_by,
    endedBy: t.ended_by,
    version: t.version,
  };
}

/** A term as a committee's page lists it, with the member and its state now. */
export function presentCommitteeTerm(t: {
  id: string;
  member_id: string;
  member_name: string;
  member_email: string;
  role: string;
  state: "current" | "upcoming" | "ended";
  starts_at: Date;
  ends_at: Date | null;
  granted_by: string;
  ended_by: string | null;
  version: number;
}): Static<typeof CommitteeDetailOut>["terms"][number] {
  return {
    id: t.id,
    memberId: t.member_id,
    memberName: t.member_name,
    memberEmail: t.member_email,
    role: t.role as Role,
    state: t.state,
    startsAt: iso(t.starts_at),
    endsAt: isoOrNull(t.ends_at),
    grantedBy: t.granted_by,
    endedBy: t.ended_by,
    version: t.version,
  };
}
