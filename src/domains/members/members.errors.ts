import { defineErrors } from "../../core/errors.ts";

/** The members domain's error codes. */
export const MEMBER_ERRORS = defineErrors({
  member_outranks_actor: {
    status: 403,
    description:
      "The member holds permissions the actor does not, so only a full administrator may change them",
  },
  own_member_record: {
    status: 403,
    description: "An administrator cannot delete their own record or change their own status",
  },
  reminder_already_sent: {
    status: 409,
    description:
      "This renewal reminder (member, renewal date, step) was already sent, by this run or another",
  },
});
