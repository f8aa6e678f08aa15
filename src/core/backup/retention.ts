/* Retention (B-2): which backups the automatic pruning may remove. Only what falls outside the policy
 * is pruned, never by hand here (a person deletes with `clubos backup delete --actor --reason`). The
 * rule is restic's "keep-hourly/daily/monthly": for each of the last N hours (days, months) that have
 * a backup, the newest backup of that hour (day, month) is kept. Times are UTC. */

/** How many hours, days and months keep their newest backup. */
export interface RetentionPolicy {
  hourly: number;
  daily: number;
  monthly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { hourly: 24, daily: 30, monthly: 12 };

/** The policy in words, for audit reasons and listings. */
export const describeRetention = (p: RetentionPolicy): string =>
  `${p.hourly} hourly, ${p.daily} daily, ${p.monthly} monthly`;

/** What retention needs to know of a backup. */
export interface RetainedBackup {
  id: string;
  createdAt: string;
  /** The newest backup whose drill passed is always kept: there must stay a trusted one. */
  trusted?: boolean;
}

const BUCKETS: Array<[keyof RetentionPolicy, number]> = [
  ["hourly", 13],
  ["daily", 10],
  ["monthly", 7],
];

/** Splits the backups into those the policy keeps and those it may prune (oldest first). */
export function retentionPlan(
  backups: readonly RetainedBackup[],
  policy: RetentionPolicy = DEFAULT_RETENTION,
): { keep: string[]; prune: string[] } {
  const newestFirst = [...backups].sort(
    (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
  );
  const keep = new Set<string>();
  for (const [granularity, width] of BUCKETS) {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      const bucket = new Date(backup.createdAt).toISOString().slice(0, width);
      if (seen.has(bucket)) continue;
      if (seen.size >= policy[granularity]) break;
      seen.add(bucket);
      keep.add(backup.id);
    }
  }
  const trusted = newestFirst.find((b) => b.trusted);
  if (trusted) keep.add(trusted.id);
  return {
    keep: newestFirst.filter((b) => keep.has(b.id)).map((b) => b.id),
    prune: newestFirst
      .filter((b) => !keep.has(b.id))
      .map((b) => b.id)
      .reverse(),
  };
}
