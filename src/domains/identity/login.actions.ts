import { defineAction } from "../../core/action.ts";
import { invalidInput } from "../../core/errors.ts";
import { findMemberByEmail } from "./identity.repository.ts";
import { clearLoginThrottle, emailKeyOf } from "./login-throttle.ts";

/* The audit trail of logins that did not start a session (S-2): a wrong password and an attempt the
 * throttle slowed down are each an entry with the address they came from, written as the system's
 * "login" actor (nobody is signed in). And the admin's way to lift a throttle. */

/** What a refused login records: who it named, from where, and why. */
export interface LoginRefusal {
  email: string;
  ip: string;
  outcome: "failed" | "throttled";
  /** For a throttled attempt: what slowed it down and for how long. */
  throttle?: string;
  waitSeconds?: number;
  /** A browser or address that signed in to this account before. */
  via?: string;
}

/** Records a refused login in the audit log. Runs in every mode: recording must not stop logging in. */
export const recordLoginRefusal = defineAction({
  name: "recordLoginRefusal",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run(_scope, input: LoginRefusal) {
    const { outcome, email, ...after } = input;
    return {
      result: null,
      audit: {
        action: outcome === "failed" ? "login.failed" : "login.throttled",
        subjectType: "login",
        subjectId: emailKeyOf(email),
        after,
      },
    };
  },
});

/** An administrator lifts the login throttle on a person's account (their own throttle, at known
 * addresses and on known browsers), for an owner who cannot wait. */
export const unthrottleLogin = defineAction({
  name: "unthrottleLogin",
  access: { capability: "members:write" },
  effect: "recovery", // letting someone back in must work in every mode, like admin recovery
  async run({ trx }, input: { email: string; reason?: string }) {
    const email = emailKeyOf(input.email);
    if (!email) throw invalidInput("Give the email address of the account to unblock.");
    const member = await findMemberByEmail(trx, email);
    const cleared = await clearLoginThrottle(trx, email);
    return {
      result: { cleared, known: member !== undefined },
      audit: {
        action: "login.throttle_cleared",
        subjectType: "login",
        subjectId: email,
        after: { cleared, memberId: member?.id ?? null },
        reason: input.reason?.trim() || "login throttle cleared by an administrator",
      },
    };
  },
});
