import type { WalArchiveStatus } from "../../core/db/wal-archive.ts";

export type { WalArchiveStatus };

/** How long ago, in words an operator reads at a glance. */
function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} seconds ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} minutes ago`;
  return `${Math.round(seconds / 3600)} hours ago`;
}

/** One line on WAL archiving, the base of point-in-time recovery on a PostgreSQL server. */
export function walArchiveText(status: WalArchiveStatus): string {
  switch (status.state) {
    case "not_applicable":
      return "not applicable (embedded database: its protection is the backups).";
    case "not_configured":
      return `not configured (${status.detail}): point-in-time recovery is not possible; see docs/runbooks/point-in-time-recovery.md.`;
    case "unknown":
      return `could not be read (${status.detail}).`;
    default: {
      const last =
        status.ageSeconds === null
          ? "nothing archived yet"
          : `last archived ${ago(status.ageSeconds)} (${status.lastArchivedWal})`;
      return status.state === "failing"
        ? `FAILING: the last attempt failed at ${status.lastFailedAt?.toISOString()} (segment ${status.lastFailedWal}, ${status.failedCount} failures since the statistics were reset); ${last}. Writes since the last archived segment cannot be recovered to a point in time: fix archive_command now (docs/runbooks/point-in-time-recovery.md).`
        : `${last}; ${status.failedCount} failures since the statistics were reset.`;
    }
  }
}

/** The WAL archiving line of the operator page (docs/runbooks/point-in-time-recovery.md). */
export function WalArchiveLine({ status }: { status: WalArchiveStatus }) {
  return <p id="wal-archive">WAL archiving: {walArchiveText(status)}</p>;
}
