import type { Kysely } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { hashSecret } from "../../core/secrets.ts";
import {
  claimThrottleAttempt,
  deleteThrottlesOfEmail,
  isKnownDevice,
  settleThrottleAttempt,
  signedInFromBefore,
  type ThrottleRule,
} from "./identity.repository.ts";

/* Login throttling slows guessing down without locking the owner out (G03). Every attempt is counted
 * against throttles before its password is checked, atomically, so concurrent guesses cannot get more
 * checks than the rule allows. After a few free failures each further attempt must wait, the wait
 * doubling up to a cap: never a lock-out that renews itself. The owner gets through what an attacker
 * causes: a browser that signed in before (its device cookie) has a throttle of its own, and so does
 * the account at an address it signed in from before. */

/** An account: 5 failures free, then 30 s, 1, 2, 4, 8 minutes, then 15 minutes a try. */
export const ACCOUNT_RULE: ThrottleRule = {
  freeFailures: 5,
  firstDelaySeconds: 30,
  maxDelaySeconds: 15 * 60,
  forgetAfterMinutes: 24 * 60,
};

/** An address, whichever accounts it tries: 30 failures free, then the same growing wait. */
export const ADDRESS_RULE: ThrottleRule = { ...ACCOUNT_RULE, freeFailures: 30 };

/** One throttle an attempt is counted against, and how a right password settles it. */
export interface Throttle {
  key: string;
  emailKey: string | null;
  rule: ThrottleRule;
  /** What the attempt slowed down, in the audit entry and the message. */
  kind: "address" | "account" | "known-address" | "device";
  onSuccess: "reset" | "undo";
}

/** The lower-cased, trimmed email an attempt names: the key of the account's throttles. */
export const emailKeyOf = (email: string) => email.trim().toLowerCase();

/** The throttles an attempt is counted against, in order. A browser that signed in to this account
 * before answers to its own throttle only; otherwise the address's, then the account's at this address
 * if it signed in from here before, else the account's. */
export async function throttlesFor(
  db: Kysely<DB>,
  input: { emailKey: string; ip: string; deviceToken?: string },
): Promise<{ throttles: Throttle[]; knownDevice: boolean }> {
  const { emailKey, ip } = input;
  if (input.deviceToken) {
    const hash = hashSecret(input.deviceToken);
    if (await isKnownDevice(db, hash, emailKey)) {
      const device: Throttle = {
        key: `device:${hash}`,
        emailKey,
        rule: ACCOUNT_RULE,
        kind: "device",
        onSuccess: "reset",
      };
      return { throttles: [device], knownDevice: true };
    }
  }
  const address: Throttle = {
    key: `address:${ip}`,
    emailKey: null,
    rule: ADDRESS_RULE,
    kind: "address",
    onSuccess: "undo",
  };
  const account: Throttle = (await signedInFromBefore(db, emailKey, ip))
    ? {
        key: `known:${emailKey} ${ip}`,
        emailKey,
        rule: ACCOUNT_RULE,
        kind: "known-address",
        onSuccess: "reset",
      }
    : { key: `account:${emailKey}`, emailKey, rule: ACCOUNT_RULE, kind: "account", onSuccess: "reset" };
  return { throttles: [address, account], knownDevice: false };
}

/** Counts the attempt against each throttle in turn; the first that says wait stops it. */
export async function claimAttempt(
  db: Kysely<DB>,
  throttles: Throttle[],
): Promise<{ waitSeconds: number; throttle: Throttle } | null> {
  for (const throttle of throttles) {
    const waitSeconds = await claimThrottleAttempt(db, throttle);
    if (waitSeconds !== null) return { waitSeconds, throttle };
  }
  return null;
}

/** After a right password: the account's throttles start again, the address gets its attempt back. */
export async function settleSuccess(db: Kysely<DB>, throttles: Throttle[]): Promise<void> {
  for (const t of throttles) await settleThrottleAttempt(db, t.key, t.onSuccess);
}

/** Clears every throttle slowing down this person's logins (their account, their known addresses and
 * browsers), inside the caller's transaction: for an admin's unthrottle, `clubos admin create` and a
 * completed password reset. Returns how many were slowing them down. The caller's action audits it. */
export function clearLoginThrottle(db: Kysely<DB>, email: string): Promise<number> {
  return deleteThrottlesOfEmail(db, emailKeyOf(email));
}

/** The wait in words: "30 seconds", "4 minutes". */
export function waitInWords(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
