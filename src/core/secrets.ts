/** Secrets ClubOS hands out once and stores only as hashes: session and API tokens, feed addresses,
 * one-time passwords, and (later) invitation and reset links. */
import { createHash, randomBytes } from "node:crypto";

/** A fresh secret of 32 random bytes, URL-safe; shown once and never stored. */
export function newSecret(prefix = ""): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** What the database keeps instead of a secret. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A readable one-time password for the operator to hand over: 4 groups of 5 letters and digits. */
export function oneTimePassword(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  const bytes = randomBytes(20);
  let out = "";
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 5 === 0) out += "-";
    out += alphabet[bytes[i]! % alphabet.length];
  }
  return out;
}
