import type { Kysely } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { tooMany } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { claimThrottleAttempt, type ThrottleRule } from "./identity.repository.ts";
import { emailKeyOf, waitInWords } from "./login-throttle.ts";

/* Public forms that send mail (the join form, "Forgot your password?") are rate-limited per address
 * (IP) and per email, by the login throttle's one mechanism: each request is counted in one upsert that
 * also decides whether it may go ahead (claimThrottleAttempt), so concurrent requests cannot pass the
 * limit. Every request counts, whatever it asked for and whether the email is known, so the limit tells
 * nothing about who is a member. The email is kept hashed: these rows must not become a list of the
 * addresses people typed. */

/** A form's requests from one address: 20 an hour, then one per growing wait (up to an hour). */
export const FORM_ADDRESS_RULE: ThrottleRule = {
  freeFailures: 20,
  firstDelaySeconds: 60,
  maxDelaySeconds: 60 * 60,
  forgetAfterMinutes: 60,
};

/** A form's requests naming one email: 5 an hour, then the same growing wait. */
export const FORM_EMAIL_RULE: ThrottleRule = { ...FORM_ADDRESS_RULE, freeFailures: 5 };

/** A public form that is rate-limited. */
export type ThrottledForm = "join" | "password_reset";

/** The throttle keys of one request to a form (distinct from the login's own keys). */
export function formThrottleKeys(form: ThrottledForm, ip: string, email: string) {
  return {
    address: `form:${form}:address:${ip}`,
    email: `form:${form}:email:${hashSecret(emailKeyOf(email))}`,
  };
}

/** Counts a request to a form against its address and its email; throws 429 (with the wait) when
 * either says wait. Runs outside the action's transaction, like a login's claim, so that the count
 * holds even when the action is refused. */
export async function claimFormRequest(
  db: Kysely<DB>,
  request: { form: ThrottledForm; ip: string; email: string },
): Promise<void> {
  const keys = formThrottleKeys(request.form, request.ip, request.email);
  const byAddress = await claimThrottleAttempt(db, {
    key: keys.address,
    emailKey: null,
    rule: FORM_ADDRESS_RULE,
  });
  const wait =
    byAddress ?? (await claimThrottleAttempt(db, { key: keys.email, emailKey: null, rule: FORM_EMAIL_RULE }));
  if (wait === null) return;
  throw tooMany(
    `Too many requests from here or for this email address. Wait ${waitInWords(wait)}, then try again.`,
    wait,
  );
}
