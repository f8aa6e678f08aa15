import assert from "node:assert/strict";
import { test } from "node:test";
import { type RetainedBackup, retentionPlan } from "../../src/core/backup/retention.ts";

const HOUR = 3_600_000;
const at = (ms: number, id = new Date(ms).toISOString()): RetainedBackup => ({
  id,
  createdAt: new Date(ms).toISOString(),
});
const NOW = Date.parse("2026-12-02T12:30:00Z");

test("[G01] hourly backups for two years keep exactly 24 hourly, 30 daily and 12 monthly, newest of each", () => {
  const backups: RetainedBackup[] = [];
  for (let t = NOW; t > NOW - 730 * 24 * HOUR; t -= HOUR) backups.push(at(t));
  const { keep, prune } = retentionPlan(backups);
  assert.equal(keep.length + prune.length, backups.length, "every backup is kept or pruned");
  // By hand, from 2026-12-02 12:30 back, one backup each hour at :30: the 24 hours from 13:30 yesterday;
  // the 30 days Dec 2 .. Nov 3, whose newest (12:30 today, 23:30 before) are new from Nov 30 back: 28;
  // the 12 months Dec .. Jan, whose newest are new from Oct 31 back: 10. 24 + 28 + 10 = 62.
  assert.equal(keep.length, 62);
  assert.equal(new Set(keep.filter((id) => NOW - Date.parse(id) < 24 * HOUR)).size, 24);
  assert.equal(new Set(keep.map((id) => id.slice(0, 7))).size, 12, "twelve months, no more");
  assert.ok(keep.includes("2026-10-31T23:30:00.000Z") && keep.includes("2026-01-31T23:30:00.000Z"));
  assert.ok(!keep.includes("2025-12-31T23:30:00.000Z"), "the thirteenth month goes");
  const expected = new Set<string>();
  const newest = (key: (id: string) => string, n: number) => {
    const seen = new Set<string>();
    for (const b of backups) {
      if (seen.size >= n) break;
      if (seen.has(key(b.id))) continue;
      seen.add(key(b.id));
      expected.add(b.id);
    }
  };
  newest((id) => id.slice(0, 13), 24);
  newest((id) => id.slice(0, 10), 30);
  newest((id) => id.slice(0, 7), 12);
  assert.deepEqual(new Set(keep), expected);
  assert.ok(prune.every((id) => !expected.has(id)));
});

test("[G01] retention never prunes the newest trusted backup, nor a recent one", () => {
  const old = { ...at(NOW - 400 * 24 * HOUR, "old-but-trusted"), trusted: true };
  const recent = Array.from({ length: 5 }, (_, i) => at(NOW - i * HOUR));
  const { keep, prune } = retentionPlan([old, ...recent]);
  assert.ok(keep.includes("old-but-trusted"));
  assert.deepEqual(prune, []);
  const without = retentionPlan([{ ...old, trusted: false }, ...recent], {
    hourly: 5,
    daily: 1,
    monthly: 1,
  });
  assert.deepEqual(without.prune, ["old-but-trusted"], "without the trust mark it would have gone");
});

test("several backups in one hour: only the newest of that hour counts for it", () => {
  const burst = [at(NOW), at(NOW - 60_000), at(NOW - 120_000)];
  const { keep, prune } = retentionPlan(burst, { hourly: 24, daily: 30, monthly: 12 });
  assert.deepEqual(keep, [burst[0]!.id]);
  assert.deepEqual(prune, [burst[2]!.id, burst[1]!.id], "oldest first");
});
