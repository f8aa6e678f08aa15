import fs from "node:fs";
import path from "node:path";

/* A copy of PGlite's data folder taken while the server keeps answering. PGlite is one connection in
 * the server's own thread, so a copy that holds it (dumpDataDir did: tens of seconds at the benchmark's
 * size, the event loop blocked too) stops every request. Instead, as rsync does: every file is copied
 * first while the server runs (the copy may be torn), then, holding the connection, only what changed
 * since is copied again. What the second pass leaves is the folder exactly as it is at that quiet moment
 * (no statement in flight): the same crash-consistent state dumpDataDir read, opened with the usual
 * recovery from the write-ahead log. */

/** What the first pass saw of a file; a file that differs in any of these is copied again. */
interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** A file written this long before the first pass began is copied again anyway: file times are coarse
 * (a write in the same clock tick as the first look can leave the time unchanged). */
const MODIFY_WINDOW_MS = 2_000;

async function walk(root: string, rel = "", out = { dirs: [] as string[], files: [] as string[] }) {
  for (const entry of await fs.promises.readdir(path.join(root, rel), { withFileTypes: true })) {
    const name = path.join(rel, entry.name);
    if (entry.isDirectory()) {
      out.dirs.push(name);
      await walk(root, name, out);
    } else if (entry.isFile()) out.files.push(name);
  }
  return out;
}

const gone = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

async function copyOne(from: string, to: string, rel: string, seen: Map<string, Seen>): Promise<void> {
  try {
    const st = await fs.promises.stat(path.join(from, rel));
    seen.set(rel, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    await fs.promises.copyFile(path.join(from, rel), path.join(to, rel));
  } catch (error) {
    if (!gone(error)) throw error; // removed meanwhile (a recycled log segment): the second pass decides
    seen.delete(rel);
  }
}

/** Copies the folder `from` into the new folder `to`; `quiet` runs the second pass at a moment when
 * nothing writes to `from` (it is given the pass to run, holding the database's one connection). */
export async function copyDataFolder(
  from: string,
  to: string,
  quiet: (secondPass: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  const seen = new Map<string, Seen>();
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  const first = await walk(from);
  for (const dir of first.dirs) fs.mkdirSync(path.join(to, dir), { recursive: true, mode: 0o700 });
  for (const rel of first.files) await copyOne(from, to, rel, seen);
  await quiet(async () => {
    const now = await walk(from);
    for (const dir of now.dirs) await fs.promises.mkdir(path.join(to, dir), { recursive: true, mode: 0o700 });
    const present = new Set(now.files);
    for (const rel of seen.keys()) {
      if (!present.has(rel)) await fs.promises.rm(path.join(to, rel), { force: true });
    }
    for (const rel of now.files) {
      const st = await fs.promises.stat(path.join(from, rel));
      const before = seen.get(rel);
      const same =
        before &&
        before.size === st.size &&
        before.mtimeMs === st.mtimeMs &&
        before.ino === st.ino &&
        st.mtimeMs < started - MODIFY_WINDOW_MS;
      if (!same) await fs.promises.copyFile(path.join(from, rel), path.join(to, rel));
    }
    // A folder removed since the first pass (nothing in PGlite's folder does this) would stay, empty.
  });
}
