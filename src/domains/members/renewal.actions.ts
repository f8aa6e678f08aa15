import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { conflict, invalidInput, notFound } from "../../core/errors.ts";
import { clubToday } from "./lapse.job.ts";
import { canTransition } from "./member-status.ts";
import { ACTS_ON_MEMBER } from "./members.policies.ts";
import { extendRenewal, findTier, lockForRenewal, recordStatusChange } from "./members.repository.ts";

// Renewing is for members who are in (or just fell out of) good standing; the rest go through a
// status change first, so an admin decides that separately and the history says why.
const RENEWABLE = new Set(["active", "lapsed"]);

/** Renews a membership: the due date moves on by the tier's renewal period, counted from the current
 * due date, or from the club's today when there is none or it has passed; a lapsed member becomes
 * active again through the state machine, with a history row. One audit entry: 'member.renewed'.
 * Never a member who holds more than the admin (they could be brought back to active). */
export const renewMembership = defineAction({
  name: "renewMembership",
  access: { capability: "members:write", policy: ACTS_ON_MEMBER },
  effect: "admin",
  async run(
    { trx, actor },
    input: { memberId: string; version?: number; timeZone: string; reason?: string; now?: Date },
  ) {
    const reason = input.reason?.trim() || "membership renewed";
    const before = await lockForRenewal(trx, input.memberId);
    if (!before) throw notFound();
    if (input.version !== undefined && before.version !== input.version) {
      throw conflict("Someone changed this member after you opened the page. Reload and try again.", {
        currentVersion: before.version,
      });
    }
    if (!RENEWABLE.has(before.status)) {
      throw conflict(
        `A member who is ${before.status} cannot be renewed. Change their status first if they should be a member again.`,
        { status: before.status },
      );
    }
    const tier = before.tier_key ? await findTier(trx, before.tier_key) : undefined;
    if (!tier) {
      throw invalidInput(
        "This member has no membership tier, so the renewal period is unknown. Set their tier, then renew.",
      );
    }
    const today = clubToday(input.timeZone, input.now);
    const from = before.due_on && before.due_on >= today ? before.due_on : today;
    const reactivate = before.status === "lapsed";
    if (reactivate && !canTransition(before.status, "active")) {
      throw conflict(`A member who is ${before.status} cannot become active.`);
    }
    const after = await extendRenewal(trx, {
      memberId: before.id,
      from,
      months: tier.renewal_months,
      status: reactivate ? "active" : before.status,
    });
    if (reactivate)
      await recordStatusChange(trx, after.id, before.status, after.status, reason, actorRef(actor));
    const changes = { renewal_due_on: after.due_on, ...(reactivate ? { status: after.status } : {}) };
    return {
      result: {
        id: after.id,
        name: after.name,
        status: after.status,
        tier_key: after.tier_key,
        renewal_due_on: after.due_on,
        version: after.version,
      },
      audit: {
        action: "member.renewed",
        subjectType: "member",
        subjectId: after.id,
        before: { status: before.status, renewal_due_on: before.due_on },
        after: { status: after.status, renewal_due_on: after.due_on, version: after.version, changes },
        reason,
      },
    };
  },
});
