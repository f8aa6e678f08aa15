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
  link_not_usable: {
    status: 404,
    description: "An invitation or password-reset link that is unknown, used, revoked or expired",
  },
  already_has_login: {
    status: 409,
    description: "The member already has a login, so an invitation would give nothing",
  },
  no_login: {
    status: 409,
    description: "The member has no login yet, so there is no password to reset (invite them instead)",
  },
  join_link_not_usable: {
    status: 404,
    description: "A join-application confirmation link that is unknown, used or expired",
  },
  application_decided: {
    status: 409,
    description: "The join application was already approved or rejected",
  },
  no_open_invitation: {
    status: 409,
    description: "The member has no open invitation to revoke",
  },
});
