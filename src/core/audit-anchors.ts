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

/** A restore in place recorded beside the anchors: from `at` on, the installation's chain continues
 * from entry `seq` of the restored backup, and heads recorded before it beyond `seq` (in older backup
 * manifests) belong to the timeline the restore left. */
export interface ChainFork {
  installationId: string;
  seq: number;
  at: string;
  restoreId: string;
  backupId: string;
}

const forkFile = (backupDir: string) => path.join(backupDir, "audit-restores.jsonl");

/** After a restore in place: the anchor file of `backupDir` is kept whole under another name, and a
 * new one holds this installation's anchors up to the restored head (read from `sourceDir`, where the
 * restored backup and its anchors came from), other installations' lines as they were; the fork is
 * appended to audit-restores.jsonl. Both written durably before the restore is reported done. */
export async function forkAnchors(backupDir: string, sourceDir: string, fork: ChainFork): Promise<string> {
  fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const file = anchorFile(backupDir);
  const archived = path.join(backupDir, `audit-anchors.before-restore-${fork.restoreId}.jsonl`);
  const kept = [
    ...readAnchors(backupDir).filter((a) => a.installationId !== fork.installationId),
    ...readAnchors(sourceDir).filter((a) => a.installationId === fork.installationId && a.seq <= fork.seq),
  ];
  if (fs.existsSync(file)) fs.copyFileSync(file, archived);
  const next = `${file}.next`;
  fs.writeFileSync(next, kept.map((a) => `${JSON.stringify(a)}\n`).join(""), { mode: 0o600 });
  const handle = await fs.promises.open(next, "r+");
  await handle.datasync().finally(() => handle.close());
  fs.renameSync(next, file);
  const forks = await fs.promises.open(forkFile(backupDir), "a", 0o600);
  try {
    await forks.write(`${JSON.stringify(fork)}\n`);
    await forks.datasync();
  } finally {
    await forks.close();
  }
  await syncFolder(backupDir);
  return archived;
}

/** The restores in place recorded in a backup folder, oldest first. */
export function readForks(backupDir: string): ChainFork[] {
  const file = forkFile(backupDir);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as ChainFork];
      } catch {
        return [];
      }
    });
}
