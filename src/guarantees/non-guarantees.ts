// What ClubOS does not promise, said as plainly as what it does (the original matrix documents list
// their non-guarantees too). Rendered into docs/GUARANTEES.md after the rows.

/** One thing ClubOS does not promise, and what a club can do about it. */
export interface NonGuarantee {
  title: string;
  detail: string;
}

export const nonGuarantees: readonly NonGuarantee[] = [
  {
    title: "No zero data loss between the last backup and a disk failure",
    detail:
      "On the embedded database, writes made since the last good backup are lost with the disk (up to one " +
      "backup interval, an hour by default). On a PostgreSQL server with WAL archiving, writes since the " +
      "last archived WAL segment are at risk (at most `archive_timeout`, 15 minutes in the runbook). Keep " +
      "the off-site copy on another machine so one failure cannot take both.",
  },
  {
    title: "No automatic repair",
    detail:
      "A broken invariant stops writes and opens an incident; ClubOS never rewrites data to make a check " +
      "pass. People decide the fix, following the runbooks, and every step is audited.",
  },
  {
    title: "No guarantee when several things fail at once",
    detail:
      "The database and every backup copy lost together, or the backup key lost with the only readable " +
      "copy, cannot be recovered. The warnings about missing keys, copies and drills exist so that one " +
      "failure is noticed before a second one arrives.",
  },
  {
    title: "No protection from someone who holds the server, its superuser and the backup key",
    detail:
      "They can read everything. The audit chain makes a rewrite of history detectable only while an anchor " +
      "or a backup manifest recorded outside their reach survives; entries not yet sealed and anchored (the " +
      "last moment before a crash or an attack) are covered only by the database's own durability.",
  },
  {
    title: "A restore goes back in time",
    detail:
      "Restoring a backup discards what was written after it. ClubOS first takes a backup of the current " +
      "state, so what the restore discards can still be read, but merging it back is a person's work.",
  },
  {
    title: "Nothing outside ClubOS",
    detail:
      "Exports already downloaded, mail already delivered and files already saved by members are beyond " +
      "ClubOS's reach; the audit log records who exported what and when.",
  },
  {
    title: "No high availability",
    detail:
      "ClubOS runs as one server. While its database is unreachable every page that needs data answers 503 " +
      "with Retry-After, and nothing is written half-way; it comes back when the database does.",
  },
];
