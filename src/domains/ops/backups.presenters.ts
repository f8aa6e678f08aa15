import { type BackupListing, type BackupProgress, newestGoodBackup } from "../../core/backup/index.ts";

/** A backup as `clubos backup list --json` (and later the operator page) shows it. */
export interface BackupOut {
  id: string;
  createdAt: string;
  ageSeconds: number;
  bytes: number;
  rows: number;
  encrypted: boolean;
  keyFingerprint: string | null;
  locations: string[];
  copies: Array<{ kind: string; location: string; at: string; ok: boolean }>;
  checksum: { state: string; at: string | null };
  drill: { state: string; at: string | null };
  trusted: boolean;
  actor: string;
  appVersion: string;
  engine: string;
}

/** The listing without the manifest's per-table detail. */
export function presentBackup(b: BackupListing): BackupOut {
  return {
    id: b.id,
    createdAt: b.createdAt,
    ageSeconds: b.ageSeconds,
    bytes: b.bytes,
    rows: b.rows,
    encrypted: b.encrypted,
    keyFingerprint: b.keyFingerprint,
    locations: b.locations,
    copies: b.copies.map(({ kind, location, at, ok }) => ({ kind, location, at, ok })),
    checksum: b.checksum,
    drill: b.drill,
    trusted: b.drill.state === "passed",
    actor: b.manifest.actor,
    appVersion: b.manifest.appVersion,
    engine: b.manifest.source.engine,
  };
}

/** A size for people: 1.2 MB. */
export function humanBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** An age for people: 3 min, 5 h, 2 d. */
export function humanAge(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** A backup's step in words, for the CLI's progress lines and the operator page; null for the steps
 * not worth a line (a table still being written, unless `partial`). */
export function describeBackupProgress(
  event: BackupProgress,
  options: { partial?: boolean } = {},
): string | null {
  switch (event.step) {
    case "invariants":
      return `invariant checks ${event.done}/${event.total}`;
    case "snapshot":
      return `snapshot taken: ${event.tables} tables`;
    case "table":
      if (event.finished) return `table ${event.table}: ${event.rows} rows, ${humanBytes(event.bytes)}`;
      return options.partial ? `table ${event.table}: ${humanBytes(event.bytes)} so far` : null;
    case "copy":
      return `copy to ${event.location}: ${event.ok ? "verified" : "FAILED"}`;
  }
}

/** A drill's step in words, for the CLI's progress lines and the operator page. */
export const describeDrillStep = (step: string, detail: string): string => `${step}: ${detail}`;

/** What the operator page and `clubos status` say about the backups as a whole. */
export interface BackupOverview {
  backups: BackupOut[];
  /** The newest good backup (isGoodBackup), or null when there is none. */
  lastGood: { id: string; createdAt: string; ageSeconds: number } | null;
  /** The newest drill of any listed backup, or null when none was drilled. */
  lastDrill: { id: string; ok: boolean; at: string; ageSeconds: number } | null;
}

/** The overview of a listing (newest first, as listBackups gives it). */
export function backupOverview(listings: readonly BackupListing[], now = new Date()): BackupOverview {
  const good = newestGoodBackup(listings);
  const drilled = listings
    .filter((b) => b.drill.at !== null)
    .sort((a, b) => (b.drill.at ?? "").localeCompare(a.drill.at ?? ""))[0];
  const ageOf = (at: string) => Math.max(0, Math.round((now.getTime() - Date.parse(at)) / 1000));
  return {
    backups: listings.map(presentBackup),
    lastGood: good ? { id: good.id, createdAt: good.createdAt, ageSeconds: good.ageSeconds } : null,
    lastDrill: drilled?.drill.at
      ? {
          id: drilled.id,
          ok: drilled.drill.state === "passed",
          at: drilled.drill.at,
          ageSeconds: ageOf(drilled.drill.at),
        }
      : null,
  };
}
