import type { BackupListing } from "../../core/backup/index.ts";

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
