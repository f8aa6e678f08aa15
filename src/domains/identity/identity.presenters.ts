import type { Capability } from "../../core/capabilities.ts";
import type { MeOut } from "./identity.schemas.ts";

/** Who the caller is, for GET /api/v1/me: their member id, name and sorted capabilities. */
export function presentMe(member: {
  memberId: string;
  name: string;
  capabilities: ReadonlySet<Capability>;
}): MeOut {
  return { memberId: member.memberId, name: member.name, capabilities: [...member.capabilities].sort() };
}
