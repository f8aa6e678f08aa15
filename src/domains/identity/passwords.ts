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

/** Refuses passwords that are too short or absurdly long, before anything is written (W-5). */
export function assertAcceptablePassword(password: string): void {
  if (password.length < MIN_LENGTH) {
    throw invalidInput(
      `Choose a password of at least ${MIN_LENGTH} characters; a short sentence works well.`,
    );
  }
  if (password.length > MAX_LENGTH) throw invalidInput(`A password can be at most ${MAX_LENGTH} characters.`);
}
