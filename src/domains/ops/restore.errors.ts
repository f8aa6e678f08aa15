import { defineErrors } from "../../core/errors.ts";

/** The restore flow's error codes (REC-1..REC-4). */
export const RESTORE_ERRORS = defineErrors({
  restore_in_progress: { status: 409, description: "Another restore is running right now" },
  restore_not_open: { status: 409, description: "No restore is waiting for sign-off" },
  restore_not_verified: {
    status: 409,
    description: "The restored data has not passed the verification suite, so writes stay off",
  },
  restore_own_sign_off: {
    status: 403,
    description: "The person who started a restore cannot sign it off while another full admin exists",
  },
  restore_awaiting_sign_off: {
    status: 409,
    description: "The mode cannot change while a restore waits for sign-off: use `clubos resume`",
  },
  restore_confirmation_mismatch: {
    status: 422,
    description: "The typed confirmation does not match the backup id",
  },
});
