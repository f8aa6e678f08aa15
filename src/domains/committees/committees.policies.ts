import { definePolicy } from "../../core/access.ts";
import type { Actor } from "../../core/actor.ts";
import type { Capability } from "../../core/capabilities.ts";
import { IDENTITY_ERRORS } from "../identity/identity.errors.ts";
import { findTerm } from "./committees.repository.ts";

/* A chair manages the committee's events (events/events.policies.ts): appointing one, or ending a
 * chair's term, is a privilege change, so it needs roles:grant, and nobody hands out event management
 * they lack (INV-3). Ordinary committee members need only members:write. */

const CHAIR_NEEDS: Capability[] = ["roles:grant", "events:manage"];
const handlesChairs = (actor: Actor) => CHAIR_NEEDS.every((c) => actor.capabilities.has(c));

const refusal = (doing: string) =>
  IDENTITY_ERRORS.grant_exceeds_own(
    `You cannot ${doing} a committee chair: a chair manages the committee's events, so it needs ` +
      `${CHAIR_NEEDS.join(" and ")}, which you do not both hold. Nothing was changed; ask a full administrator.`,
    { needs: CHAIR_NEEDS },
  );

/** Appointing: a chair only with roles:grant and events:manage. */
export const APPOINTS_CHAIR = definePolicy<{ role: string }>({
  name: "committees.hands-out-chair",
  description: "appointing a chair needs roles:grant and events:manage",
  allows: async ({ actor }, input) => input.role !== "chair" || handlesChairs(actor),
  refusal: () => refusal("appoint"),
});

/** Ending a term: a chair's only with roles:grant and events:manage. */
export const ENDS_CHAIR_TERM = definePolicy<{ committeeId: string; termId: string }>({
  name: "committees.hands-out-chair",
  description: "ending a chair's term needs roles:grant and events:manage",
  async allows({ db, actor }, input) {
    if (handlesChairs(actor)) return true;
    const term = await findTerm(db, input.committeeId, input.termId);
    return term?.role !== "chair";
  },
  refusal: () => refusal("end the term of"),
});
