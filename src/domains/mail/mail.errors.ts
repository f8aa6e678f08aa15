import { defineErrors } from "../../core/errors.ts";

/** The mail domain's error codes. */
export const MAIL_ERRORS = defineErrors({
  not_retryable: {
    status: 409,
    description: "Only a dead-lettered or held message can be retried by hand; this one is waiting or sent",
  },
  mail_not_configured: {
    status: 400,
    description: "No mail server is configured (SMTP_URL), so nothing can be sent",
  },
});
