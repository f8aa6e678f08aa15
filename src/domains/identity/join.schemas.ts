import { FormBody, FormLineText, FormText } from "../../http/schema.ts";

/* The join form's contract: the application, the admin's rejection, and the honeypot. */

/** The public application form. `website` is the honeypot: hidden from people, filled by bots. */
export const JoinForm = FormBody({
  name: FormLineText(200),
  email: FormLineText(320),
  phone: FormLineText(40),
  tier: FormLineText(40),
  message: FormText(2_000),
  website: FormText(2_000),
});

/** Rejecting an application: the reason the applicant is told. */
export const RejectApplicationForm = FormBody({ reason: FormText(1_000) });
