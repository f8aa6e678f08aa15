import fs from "node:fs";
import path from "node:path";
import { BACKUP_ERRORS } from "./errors.ts";

/** The bundle format this code writes and reads. A reader refuses a newer one rather than guess. */
export const FORMAT_VERSION = 1;

/** Session settings every export and restore connection uses, so that COPY text (and so its hash) is
 * the same on every engine and server, whatever the server's defaults are. */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  TimeZone: "UTC",
  DateStyle: "ISO, MDY",
  IntervalStyle: "postgres",
  extra_float_digits: "1",
  bytea_output: "hex",
  client_encoding: "UTF8",
};

/** The SET statements for SESSION_SETTINGS, in one string; local ones end with the transaction (a
 * restore into the server's own PGlite connection must not change its session for good). */
export const sessionStatements = (scope: "session" | "local" = "session"): string[] =>
  Object.entries(SESSION_SETTINGS).map(
    ([name, value]) => `SET ${scope === "local" ? "LOCAL " : ""}${name} = '${value}'`,
  );

/** sessionStatements as one string, for engines that take several statements at once. */
export const sessionSql = (scope: "session" | "local" = "session"): string =>
  sessionStatements(scope).join("; ");

/** Tables that describe the schema rather than hold the club's data: the target has its own. */
export const SCHEMA_BOOKKEEPING = ["schema_migrations", "schema_functions"] as const;

/** One table as the bundle holds it. */
export interface TableEntry {
  name: string;
  /** Columns in COPY order. */
  columns: string[];
  /** The ORDER BY columns (the primary key; every column for a table without one). */
  orderBy: string[];
  rows: number;
  /** SHA-256 of the COPY text, before compression and encryption. */
  plaintextSha256: string;
  plaintextBytes: number;
  /** The file in the bundle, and the SHA-256 and size of its bytes as stored. */
  file: string;
  storedSha256: string;
  storedBytes: number;
}

/** A sequence and where it stood in the snapshot. */
export interface SequenceEntry {
  name: string;
  lastValue: number;
  isCalled: boolean;
}

/** Everything needed to check and restore a bundle, in plain JSON (no secrets, no member data). */
export interface Manifest {
  formatVersion: number;
  id: string;
  createdAt: string;
  actor: string;
  appVersion: string;
  source: { engine: "pglite" | "postgres"; installationId: string | null; serverVersion: string };
  schema: {
    migrations: Array<{ name: string; checksum: string }>;
    functions: Array<{ name: string; checksum: string }>;
  };
  compression: { codec: "gzip" | "brotli"; level: number };
  encryption: { cipher: "aes-256-gcm"; chunkBytes: number; keyFingerprint: string } | null;
  tables: TableEntry[];
  sequences: SequenceEntry[];
  auditChain: { head: { seq: number; chainHash: string } | null; anchors: number };
  /** The invariant scan of the snapshot, i.e. of the data in the bundle (null when none was asked). */
  invariants: {
    ok: boolean;
    runId: string;
    checks: number;
    failed: Array<{ id: string; violations: number; error?: string }>;
  } | null;
  durationMs: number;
}

/** What a bundle's folder holds besides its data files. */
export const MANIFEST_FILE = "manifest.json";
export const VERIFY_FILE = "verify.json";
export const DRILL_FILE = "drill.json";
export const COPIES_FILE = "copies.json";

/** A bundle id: sortable by time, safe as a folder name. */
export function newBackupId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const random = Math.random().toString(36).slice(2, 6);
  return `${stamp}-${random}`;
}

const ID = /^\d{8}T\d{6}Z-[a-z0-9]{1,8}$/;

/** True for a string shaped like a bundle id (a partial or any other folder is not one). */
export const isBackupId = (name: string): boolean => ID.test(name);

/** When a bundle was made, read from its id (to the second): for copies whose manifest is not at hand. */
export function backupIdTime(id: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  if (!m) throw new Error(`${id} is not a backup id.`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
}

/** Where a bundle is while it is written: hidden, so a half-written one never looks complete. */
export const partialDir = (backupDir: string, id: string): string => path.join(backupDir, `.${id}.partial`);

/** Reads and checks a bundle's manifest. */
export function readManifest(bundleDir: string): Manifest {
  const file = path.join(bundleDir, MANIFEST_FILE);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
  } catch (error) {
    throw BACKUP_ERRORS.backup_damaged(
      `The manifest of backup ${path.basename(bundleDir)} cannot be read (${(error as Error).message}). ` +
        "Use another backup, or its off-site copy.",
    );
  }
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw BACKUP_ERRORS.backup_damaged(
      `Backup ${manifest.id} has format version ${manifest.formatVersion}; this version of ClubOS reads ` +
        `${FORMAT_VERSION}. Use the ClubOS version that made it.`,
    );
  }
  return manifest;
}

/** Writes a JSON file durably: a temporary name, fsync, rename. */
export function writeJsonDurably(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** fsyncs a folder, so a rename or new file in it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Double-quotes an identifier read from the catalogue. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
