import { defineErrors } from "../../core/errors.ts";

/** The identity domain's error codes: logins, roles and tokens. */
export const IDENTITY_ERRORS = defineErrors({
  grant_exceeds_own: {
    status: 403,
    description: "A role or privilege carries capabilities the actor does not hold",
  },
  last_full_admin: {
    status: 409,
    description: "The change would leave the club without an active full administrator",
  },
});
