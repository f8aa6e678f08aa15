import { defineAction } from "../../core/action.ts";
import { setJoinFormOpen } from "./settings.repository.ts";

/** Opens or closes the public join form (/join). Membership admins decide who may apply, so it needs
 * members:write; an admin change, stopped by the admin freeze. */
export const setJoinForm = defineAction({
  name: "setJoinForm",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx }, input: { open: boolean }) {
    const { before } = await setJoinFormOpen(trx, input.open);
    return {
      result: { open: input.open },
      audit: {
        action: input.open ? "settings.join_form_opened" : "settings.join_form_closed",
        subjectType: "club_settings",
        subjectId: "join_form",
        before: { open: before },
        after: { open: input.open },
      },
    };
  },
});
