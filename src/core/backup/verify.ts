import path from "node:path";
import { keyFingerprint } from "./crypto.ts";
import { BACKUP_ERRORS } from "./errors.ts";
import { type Manifest, readManifest, VERIFY_FILE, writeJsonDurably } from "./format.ts";
import { measureCopyText, readTableFile } from "./table-file.ts";
import { checkStoredFiles, type FileProblem } from "./target.ts";

/** The outcome of verifying a bundle, kept in its verify.json. */
export interface VerifyResult {
  id: string;
  at: string;
  ok: boolean;
  tables: number;
  rows: number;
  problems: FileProblem[];
}

/** Refuses a key that is not the one the bundle was made with, saying which is which. */
export function assertKeyFits(manifest: Manifest, key: Buffer | null): void {
  const made = manifest.encryption?.keyFingerprint ?? null;
  if (made === null) return; // a plain bundle reads with or without a key
  if (!key) {
    throw BACKUP_ERRORS.backup_key_mismatch(
      `Backup ${manifest.id} is encrypted with key ${made}, and no key was given. Set CLUBOS_BACKUP_KEY or ` +
        "CLUBOS_BACKUP_KEY_FILE to that key.",
    );
  }
  const given = keyFingerprint(key);
  if (given !== made) {
    throw BACKUP_ERRORS.backup_key_mismatch(
      `This backup was made with key ${made}, the key given is ${given}. Find the key with fingerprint ${made} ` +
        "(keys are not stored with the backups).",
    );
  }
}

/** Checks every file of a bundle: stored hash and size, then (decrypting and decompressing) the row
 * count and hash of its COPY text, all against the manifest; records the result in verify.json. A
 * wrong key is refused before anything is recorded: the bundle is not at fault. */
export async function verifyBackup(
  bundleDir: string,
  key: Buffer | null,
  options: { onProgress?: (table: string, done: number, total: number) => void } = {},
): Promise<VerifyResult> {
  const manifest = readManifest(bundleDir);
  assertKeyFits(manifest, key);
  const problems = await checkStoredFiles(bundleDir, manifest);
  const broken = new Set(problems.map((p) => p.file));
  let done = 0;
  for (const table of manifest.tables) {
    options.onProgress?.(table.name, done++, manifest.tables.length);
    if (broken.has(table.file)) continue;
    try {
      const read = await measureCopyText(
        readTableFile(path.join(bundleDir, table.file), {
          key,
          label: table.file,
          compression: manifest.compression,
        }),
      );
      if (read.rows !== table.rows || read.sha256 !== table.plaintextSha256) {
        problems.push({
          file: table.file,
          message: `${table.file} holds ${read.rows} rows with another checksum than the manifest's ${table.rows}.`,
        });
      }
    } catch (error) {
      problems.push({ file: table.file, message: `${table.file}: ${(error as Error).message}` });
    }
  }
  const result: VerifyResult = {
    id: manifest.id,
    at: new Date().toISOString(),
    ok: problems.length === 0,
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((n, t) => n + t.rows, 0),
    problems,
  };
  writeJsonDurably(path.join(bundleDir, VERIFY_FILE), result);
  return result;
}
