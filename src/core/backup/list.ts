import fs from "node:fs";
import path from "node:path";
import { type CopyRecord, readCopies } from "./create.ts";
import type { DrillResult } from "./drill.ts";
import { BACKUP_ERRORS } from "./errors.ts";
import { DRILL_FILE, isBackupId, MANIFEST_FILE, type Manifest, readManifest, VERIFY_FILE } from "./format.ts";
import type { VerifyResult } from "./verify.ts";

/** One complete bundle as `clubos backup list` shows it. */
export interface BackupListing {
  id: string;
  dir: string;
  createdAt: string;
  ageSeconds: number;
  bytes: number;
  rows: number;
  encrypted: boolean;
  keyFingerprint: string | null;
  /** The bundle's own folder first, then each verified copy. */
  locations: string[];
  copies: CopyRecord[];
  checksum: { state: "unchecked" | "ok" | "failed"; at: string | null };
  /** B-3: untrusted until a drill passed. */
  drill: { state: "untrusted" | "passed" | "failed"; at: string | null };
  manifest: Manifest;
}

/** The one rule of a good backup (B-1: success is never inferred from the absence of an error): its
 * bundle is complete (it is listed, or createBackup returned it), every copy verified, and no check
 * since found it damaged (a failed verify or drill). Used by the job's record and alarm, `clubos backup
 * create`, the operator page and `clubos status`. */
export function isGoodBackup(b: {
  copies: readonly CopyRecord[];
  checksum?: { state: string };
  drill?: { state: string };
}): boolean {
  return b.copies.every((c) => c.ok) && b.checksum?.state !== "failed" && b.drill?.state !== "failed";
}

/** The newest good backup of a listing (newest first), if any. */
export const newestGoodBackup = (listings: readonly BackupListing[]): BackupListing | undefined =>
  listings.find(isGoodBackup);

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return null;
  }
}

/** Every complete bundle in the folder, newest first. A folder without a readable manifest, or a
 * partial one, is not a backup and is not listed (see incompleteBackups). */
export function listBackups(backupDir: string, now = new Date()): BackupListing[] {
  if (!fs.existsSync(backupDir)) return [];
  const out: BackupListing[] = [];
  for (const name of fs.readdirSync(backupDir).filter(isBackupId)) {
    const dir = path.join(backupDir, name);
    if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) continue;
    let manifest: Manifest;
    try {
      manifest = readManifest(dir);
    } catch {
      continue;
    }
    const verify = readJson<VerifyResult>(path.join(dir, VERIFY_FILE));
    const drill = readJson<DrillResult>(path.join(dir, DRILL_FILE));
    const copies = readCopies(dir);
    out.push({
      id: manifest.id,
      dir,
      createdAt: manifest.createdAt,
      ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(manifest.createdAt)) / 1000)),
      bytes: manifest.tables.reduce((n, t) => n + t.storedBytes, 0),
      rows: manifest.tables.reduce((n, t) => n + t.rows, 0),
      encrypted: manifest.encryption !== null,
      keyFingerprint: manifest.encryption?.keyFingerprint ?? null,
      locations: [dir, ...copies.filter((c) => c.ok).map((c) => path.join(c.location, manifest.id))],
      copies,
      checksum: verify
        ? { state: verify.ok ? "ok" : "failed", at: verify.at }
        : { state: "unchecked", at: null },
      drill: drill
        ? { state: drill.ok ? "passed" : "failed", at: drill.at }
        : { state: "untrusted", at: null },
      manifest,
    });
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

/** Folders a backup left half-written (a crash mid-backup): never listed as backups, safe to remove. */
export function incompleteBackups(backupDir: string): string[] {
  if (!fs.existsSync(backupDir)) return [];
  return fs
    .readdirSync(backupDir)
    .filter((name) => name.startsWith(".") && name.endsWith(".partial"))
    .map((name) => path.join(backupDir, name));
}

/** The bundle folder for an id, or the newest when no id is given; a clear error when there is none. */
export function findBackup(backupDir: string, id?: string): BackupListing {
  const all = listBackups(backupDir);
  const found = id ? all.find((b) => b.id === id) : all[0];
  if (!found) {
    throw BACKUP_ERRORS.backup_not_found(
      id
        ? `There is no complete backup ${id} in ${backupDir}. \`clubos backup list\` shows the ones there are.`
        : `There is no backup in ${backupDir} yet. Make one with \`clubos backup create --actor NAME\`.`,
    );
  }
  return found;
}

/** Removes a bundle (its folder is renamed away first, so it stops being listed at once). */
export function deleteBackup(backupDir: string, id: string): Manifest {
  const found = findBackup(backupDir, id);
  const doomed = path.join(backupDir, `.${id}.deleting`);
  fs.renameSync(found.dir, doomed);
  fs.rmSync(doomed, { recursive: true, force: true });
  return found.manifest;
}
