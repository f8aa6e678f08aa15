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
});
