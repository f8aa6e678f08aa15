import fs from "node:fs";
import path from "node:path";
import { fsyncDir, isBackupId, MANIFEST_FILE, type Manifest, partialDir, readManifest } from "./format.ts";
import { hashStoredFile } from "./table-file.ts";

/** A problem one check found, naming the file. */
export interface FileProblem {
  file: string;
  message: string;
}

/** Where a bundle can be copied for safekeeping: a second folder today, an S3 bucket later. Every copy
 * is verified against the manifest after it is written (success is never assumed). */
export interface BackupTarget {
  /** The kind, e.g. "folder". */
  kind: string;
  /** Where it is, for listings (a path, a bucket URL without credentials). */
  location: string;
  /** Stores the bundle whole, or not at all. */
  put(bundleDir: string, manifest: Manifest): Promise<void>;
  /** Ids of the complete bundles it holds. */
  list(): Promise<string[]>;
  /** A local folder holding the bundle (for a remote target, a downloaded copy). */
  read(id: string): Promise<string>;
  /** Checks every stored file of the copy against the manifest's hashes and sizes. */
  verify(id: string, manifest: Manifest): Promise<FileProblem[]>;
  /** Removes the copy of a bundle; it stops being listed before its data files go. */
  remove(id: string): Promise<void>;
}

/** Checks a bundle folder's files against the manifest without the key (stored hashes and sizes). */
export async function checkStoredFiles(bundleDir: string, manifest: Manifest): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  for (const table of manifest.tables) {
    const file = path.join(bundleDir, table.file);
    if (!fs.existsSync(file)) {
      problems.push({ file: table.file, message: `${table.file} is missing.` });
      continue;
    }
    const stored = await hashStoredFile(file);
    if (stored.bytes !== table.storedBytes || stored.sha256 !== table.storedSha256) {
      problems.push({
        file: table.file,
        message:
          `${table.file} does not match the manifest (${stored.bytes} bytes, SHA-256 ${stored.sha256.slice(0, 12)}…; ` +
          `expected ${table.storedBytes} bytes, ${table.storedSha256.slice(0, 12)}…): it was damaged or altered.`,
      });
    }
  }
  return problems;
}

/** A second folder (another disk, a mounted share). */
export class FolderTarget implements BackupTarget {
  readonly kind = "folder";

  constructor(readonly location: string) {}

  async put(bundleDir: string, manifest: Manifest): Promise<void> {
    fs.mkdirSync(this.location, { recursive: true, mode: 0o700 });
    const tmp = partialDir(this.location, manifest.id);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o700 });
    try {
      for (const name of [...manifest.tables.map((t) => t.file), MANIFEST_FILE]) {
        const to = path.join(tmp, name);
        fs.copyFileSync(path.join(bundleDir, name), to);
        const fd = fs.openSync(to, "r");
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      }
      fsyncDir(tmp);
      fs.renameSync(tmp, path.join(this.location, manifest.id));
      fsyncDir(this.location);
    } catch (error) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  async list(): Promise<string[]> {
    if (!fs.existsSync(this.location)) return [];
    return fs
      .readdirSync(this.location)
      .filter((name) => isBackupId(name) && fs.existsSync(path.join(this.location, name, MANIFEST_FILE)))
      .sort()
      .reverse();
  }

  async read(id: string): Promise<string> {
    return path.join(this.location, id);
  }

  async remove(id: string): Promise<void> {
    if (!isBackupId(id)) throw new Error(`${id} is not a backup id.`);
    const dir = path.join(this.location, id);
    if (!fs.existsSync(dir)) return;
    const doomed = path.join(this.location, `.${id}.deleting`);
    fs.renameSync(dir, doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  async verify(id: string, manifest: Manifest): Promise<FileProblem[]> {
    const dir = path.join(this.location, id);
    if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) {
      return [{ file: MANIFEST_FILE, message: `The copy in ${this.location} has no manifest.` }];
    }
    const copied = readManifest(dir);
    const problems =
      JSON.stringify(copied) === JSON.stringify(manifest)
        ? []
        : [{ file: MANIFEST_FILE, message: "The copy's manifest differs from the original's." }];
    return [...problems, ...(await checkStoredFiles(dir, manifest))];
  }
}
