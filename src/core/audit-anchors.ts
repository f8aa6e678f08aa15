import fs from "node:fs";
import path from "node:path";

/* The anchor file keeps the audit chain's heads outside the database, so that someone who can
 * rewrite the database (and recompute every hash, as the code is public) still cannot make the
 * rewritten chain match what was recorded before. One line is appended per seal (see
 * sealAuditChain) and flushed to disk before the seal is reported done: an anchor that a crash can
 * take back is not an anchor. Lines may arrive out of seq order when two processes seal at once,
 * so readers take the highest seq, never the last line. */

/** One line of the anchor file. */
export interface Anchor {
  installationId: string;
  seq: number;
  chainHash: string;
  at: string;
}

/** The anchor file for a backup folder. */
export function anchorFile(backupDir: string): string {
  return path.join(backupDir, "audit-anchors.jsonl");
}

/** Appends one anchor and flushes it (and, for a new file, its folder entry) to disk. One write of a
 * short line in append mode, so concurrent writers never interleave within a line. */
export async function appendAnchor(backupDir: string, anchor: Anchor): Promise<void> {
  const file = anchorFile(backupDir);
  const created = !fs.existsSync(file);
  if (created) fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const handle = await fs.promises.open(file, "a", 0o600);
  try {
    await handle.write(`${JSON.stringify(anchor)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  if (created) await syncFolder(backupDir);
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a folder; the file's own data is flushed regardless.
  } finally {
    await handle.close();
  }
}

/** Reads the anchors; a damaged line is returned as installationId "unreadable" so that verify
 * reports it rather than silently skipping it. */
export function readAnchors(backupDir: string): Anchor[] {
  const file = anchorFile(backupDir);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        const a = JSON.parse(line) as Anchor;
        if (typeof a.seq !== "number" || typeof a.chainHash !== "string") throw new Error("not an anchor");
        return a;
      } catch {
        return { installationId: "unreadable", seq: -1, chainHash: line, at: "" };
      }
    });
}
