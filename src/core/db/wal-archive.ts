import { sql } from "kysely";
import { walArchiveAge } from "../metrics.ts";
import type { Database } from "./connect.ts";

/** Where the server's WAL archiving stands, as the operator page and /metrics show it
 * (docs/runbooks/point-in-time-recovery.md). Point-in-time recovery needs every WAL segment since the
 * last base backup: a segment that was never archived is writes that cannot be recovered. */
export type WalArchiveStatus =
  /** The embedded database has no WAL archive: its protection is the backups. */
  | { state: "not_applicable" }
  /** archive_mode is off, or on with nothing to archive with. */
  | { state: "not_configured"; detail: string }
  /** archive_mode is on; failing when the last attempt failed after the last success. */
  | {
      state: "archiving" | "failing";
      lastArchivedWal: string | null;
      lastArchivedAt: Date | null;
      lastFailedWal: string | null;
      lastFailedAt: Date | null;
      failedCount: number;
      /** Seconds since the last segment was archived; null when none has been yet. */
      ageSeconds: number | null;
    }
  /** The server could not be asked (an outage, or settings this role may not read). */
  | { state: "unknown"; detail: string };

type ArchiverRow = {
  archive_mode: string;
  archive_command: string;
  archive_library: string;
  last_archived_wal: string | null;
  last_archived_time: Date | null;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
  failed_count: number;
  age_seconds: number | null;
};

/** Reads `archive_mode` and pg_stat_archiver (PostgreSQL 15: archive_library may replace the command). */
export async function walArchiveStatus(database: Database): Promise<WalArchiveStatus> {
  if (database.kind === "pglite") return { state: "not_applicable" };
  let row: ArchiverRow | undefined;
  try {
    const result = await sql<ArchiverRow>`SELECT current_setting('archive_mode') AS archive_mode,
        current_setting('archive_command') AS archive_command,
        coalesce(current_setting('archive_library', true), '') AS archive_library,
        last_archived_wal, last_archived_time, last_failed_wal, last_failed_time,
        failed_count::int AS failed_count,
        extract(epoch FROM now() - last_archived_time)::float8 AS age_seconds
      FROM pg_stat_archiver`.execute(database.db);
    row = result.rows[0];
  } catch (error) {
    return { state: "unknown", detail: (error as Error).message };
  }
  if (!row) return { state: "unknown", detail: "pg_stat_archiver returned no row" };
  if (row.archive_mode === "off") return { state: "not_configured", detail: "archive_mode is off" };
  const command = row.archive_command.trim();
  if ((command === "" || command === "(disabled)") && row.archive_library === "")
    return {
      state: "not_configured",
      detail: "archive_mode is on but neither archive_command nor archive_library is set: WAL piles up",
    };
  const failing =
    row.last_failed_time !== null &&
    (row.last_archived_time === null || row.last_failed_time > row.last_archived_time);
  return {
    state: failing ? "failing" : "archiving",
    lastArchivedWal: row.last_archived_wal,
    lastArchivedAt: row.last_archived_time,
    lastFailedWal: row.last_failed_wal,
    lastFailedAt: row.last_failed_time,
    failedCount: Number(row.failed_count),
    ageSeconds: row.age_seconds === null ? null : Math.max(0, Math.round(row.age_seconds)),
  };
}

/** Reads the status and sets the clubos_wal_archive_age_seconds gauge from it (-1 when there is no
 * archive age to report). Gives up after timeoutMs so that /metrics still answers in an outage. */
export async function refreshWalArchiveGauge(
  database: Database,
  timeoutMs = 1000,
): Promise<WalArchiveStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<WalArchiveStatus>((resolve) => {
    timer = setTimeout(
      () => resolve({ state: "unknown", detail: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const status = await Promise.race([walArchiveStatus(database), timeout]);
  clearTimeout(timer);
  const age = "ageSeconds" in status ? status.ageSeconds : null;
  walArchiveAge.set(age ?? -1);
  return status;
}
