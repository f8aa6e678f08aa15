import { defineAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { setEmailAnnouncements } from "./members.repository.ts";

/** A member turns announcements on or off for themselves (transactional mail cannot be turned off:
 * registrations, cancellations and account mail always go out). Audited, like every change of theirs. */
export const setOwnEmailPreferences = defineAction({
  name: "setOwnEmailPreferences",
  access: { capability: "profile:write" },
  effect: "write",
  async run({ trx, actor }, input: { announcements: boolean }) {
    if (actor.type !== "member") throw notFound();
    const changed = await setEmailAnnouncements(trx, actor.memberId, input.announcements);
    if (!changed) throw notFound();
    return {
      result: changed.after,
      audit: {
        action: "member.email_preferences_changed",
        subjectType: "member",
        subjectId: actor.memberId,
        before: { announcements: changed.before.email_announcements },
        after: { announcements: changed.after.email_announcements },
      },
    };
  },
});
