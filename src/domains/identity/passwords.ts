import fs from "node:fs";
import path from "node:path";
import { hash, verify } from "@node-rs/argon2";
import { invalidInput } from "../../core/errors.ts";

// OWASP's minimum for argon2id: 19 MiB of memory, 2 passes, 1 lane.
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const MIN_LENGTH = 12;
const MAX_LENGTH = 256;

/** Hashes a password with argon2id. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS); // @node-rs/argon2 defaults to argon2id
}

// Verified against when the email is unknown, so a miss costs the same time as a wrong password.
let dummyHash: Promise<string> | undefined;

/** Checks a password; with no stored hash, burns the same time and answers false. */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  if (!stored) {
    dummyHash ??= hashPassword("not-a-real-password-for-timing");
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

// The most common passwords of public breaches, lower-cased, one a line (data/common-passwords.LICENSE.txt
// says where it comes from). Read once, on the first password set.
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  common ??= new Set(
    fs
      .readFileSync(path.join(import.meta.dirname, "data", "common-passwords.txt"), "utf8")
      .split("\n")
      .filter(Boolean),
  );
  return common;
}

/** True when the password, ignoring case, is a common one, or a common one with digits and symbols
 * added before or after ("Password2024!", "!!dragon!!"): the first guesses of any attacker. */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
  const list = commonPasswords();
  return list.has(lower) || (core.length > 0 && list.has(core));
}

/** The one rule for every password a person sets (own change, admin create, invitations, resets):
 * long enough, not absurdly long, and not a common or breached one. Checked before anything is written
 * (W-5); the messages say what to do instead. */
export function assertAcceptablePassword(password: string): void {
  if ([...password].length < MIN_LENGTH) {
    throw invalidInput(
      `Choose a password of at least ${MIN_LENGTH} characters; a short sentence works well.`,
    );
  }
  if (password.length > MAX_LENGTH) throw invalidInput(`A password can be at most ${MAX_LENGTH} characters.`);
  if (isCommonPassword(password)) {
    throw invalidInput(
      "That password is on a list of common passwords that attackers try first. Choose another one; a short sentence of your own works well.",
    );
  }
}
