import { defineAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { setTierJoinStatus } from "./tiers.repository.ts";

/** Says how members who join online through this tier start once approved: pending (the club has a
 * step left, such as a first payment) or active at once (the member rights come with it). */
export const setTierJoinRule = defineAction({
  name: "setTierJoinRule",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx }, input: { tierKey: string; status: "pending" | "active" }) {
    const changed = await setTierJoinStatus(trx, input.tierKey, input.status);
    if (!changed) throw notFound();
    return {
      result: { tierKey: input.tierKey, status: input.status },
      audit: {
        action: "tier.join_status_changed",
        subjectType: "membership_tier",
        subjectId: input.tierKey,
        before: { joinStatus: changed.before },
        after: { joinStatus: input.status },
      },
    };
  },
});
