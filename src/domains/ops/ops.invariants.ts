import { sql } from "kysely";
import { chainHead } from "../../core/audit-chain.ts";
import type { CheckReader, InvariantCheck, Violation } from "../../core/invariants.ts";

/* The ops domain's invariants as scans: the audit chain and the single system_state row. The chain
 * hashes are recomputed with the same SQL function the sealer uses (clubos_audit_entry_hash), so
 * the scan and `clubos audit verify` agree on what an intact entry is. */

/** How much of the audit chain a scan re-hashes: all of it, or (on schedule) only what was sealed
 * after the newest checkpoint while a full check is less than FULL_CHAIN_EVERY old. */
export type ChainScope = "full" | "scheduled";

/** How often the scheduled scan re-hashes the whole chain: an edit of an entry older than the newest
 * checkpoint is found by the next full check (and by `clubos audit verify` and drills at any time). */
export const FULL_CHAIN_EVERY = "1 day";

const CHAIN_DESCRIPTION =
  "sealed audit entries match their seal, the chain links hold, no sealed entry is gone, nothing sits unsealed below the head, and every verified checkpoint is still in the chain";

/** A range of seqs, (lo, hi]; null leaves that side open. */
interface SeqRange {
  lo: number | null;
  hi: number | null;
}

/** How many seqs a range of the chain check covers at least, and how many ranges it is cut into at
 * most: the runner runs the ranges at the same time on separate connections (SCAN_CONNECTIONS), so
 * PostgreSQL re-hashes the chain on every core (bench:scan). Fewer entries stay one query per part. */
const RANGE_SEQS = 100_000;
const MAX_RANGES = 8;

/** (lo, infinity) cut into ranges of about rangeSeqs seqs between first and head (the entries there);
 * the first range starts at lo and the last one is open, so together they cover exactly what one
 * query would, entries sealed after the plan among them. */
function seqRanges(
  rangeSeqs: number,
  lo: number | null,
  first: number | null,
  head: number | null,
): SeqRange[] {
  if (first === null || head === null || head <= first) return [{ lo, hi: null }];
  const n = Math.min(MAX_RANGES, Math.max(1, Math.floor((head - first) / rangeSeqs)));
  const cuts = Array.from({ length: n - 1 }, (_, i) => first + Math.floor(((i + 1) * (head - first)) / n));
  const bounds = [lo, ...cuts, null];
  return cuts.concat(0).map((_, i) => ({ lo: bounds[i] ?? null, hi: bounds[i + 1] ?? null }));
}

/** `column` inside the range (bounded on both tables of a join: PostgreSQL does not carry a range
 * across a join, and without it reads the whole table to join the part it needs). */
function within(column: string, range: SeqRange) {
  const lo = range.lo === null ? sql`TRUE` : sql`${sql.ref(column)} > ${range.lo}::bigint`;
  const hi = range.hi === null ? sql`TRUE` : sql`${sql.ref(column)} <= ${range.hi}::bigint`;
  return sql`${lo} AND ${hi}`;
}

/** Re-hashing and re-linking the sealed entries in a range: what costs (about 10 s and 4 s for
 * 1,000,000 entries in one query on a shared 2-core machine, bench:scan). The range's first link
 * starts at the chain hash stored just before it (all zeros before the first entry): each link needs
 * only the previous entry's stored chain hash, so ranges are checked independently. */
function rehashSql(range: SeqRange) {
  return sql<Violation>`
      SELECT 'audit_log' AS subject_type, a.seq::text AS subject_id,
             'entry no longer matches its seal: it was edited after it was written' AS detail
      FROM audit_chain c JOIN audit_log a ON a.seq = c.seq
      WHERE ${within("c.seq", range)} AND ${within("a.seq", range)} AND clubos_audit_entry_hash(a) <> c.entry_hash
      UNION ALL
      SELECT 'audit_chain', l.seq::text,
             'the chain breaks before this entry: an earlier entry was removed or the chain rewritten'
      FROM (SELECT seq, entry_hash, chain_hash,
                   lag(chain_hash, 1, coalesce(
                     (SELECT p.chain_hash FROM audit_chain p
                      WHERE ${range.lo === null ? sql`FALSE` : sql`p.seq <= ${range.lo}::bigint`}
                      ORDER BY p.seq DESC LIMIT 1),
                     repeat('0', 64))) OVER (ORDER BY seq) AS prev
            FROM audit_chain WHERE ${within("seq", range)}) l
      WHERE l.chain_hash <> encode(sha256(convert_to(l.prev || l.entry_hash, 'UTF8')), 'hex')`;
}

/** The entries in a range that are in only one of the two tables: a seal without its entry, or an
 * entry below the head that was never sealed. One merge of both primary keys. */
function presenceSql(range: SeqRange) {
  return sql<Violation>`
      SELECT CASE WHEN a.seq IS NULL THEN 'audit_chain' ELSE 'audit_log' END AS subject_type,
             coalesce(a.seq, c.seq)::text AS subject_id,
             CASE WHEN a.seq IS NULL THEN 'entry was sealed but is gone from the audit log: it was deleted'
                  ELSE 'entry sits below the sealed head (' || h.head::text || ') but was never sealed: it was inserted behind ClubOS''s back' END AS detail
      FROM (SELECT seq FROM audit_log WHERE ${within("seq", range)}) a
      FULL JOIN (SELECT seq FROM audit_chain WHERE ${within("seq", range)}) c ON c.seq = a.seq
      CROSS JOIN (SELECT max(seq) AS head FROM audit_chain) h
      WHERE a.seq IS NULL OR (c.seq IS NULL AND a.seq < h.head)`;
}

/** Every verified checkpoint's head is still in the chain with its hash; from a checkpoint (from > 0),
 * also the count of sealed entries up to the newest one (a full check re-links every entry, which
 * already finds an entry removed or added with its seal). */
function checkpointsSql(from: number) {
  return sql<Violation>`
      SELECT 'audit_chain_checkpoint' AS subject_type, k.id::text AS subject_id,
             'the chain no longer holds the head verified at ' || k.verified_at::text || ' (entry ' || k.seq::text ||
             CASE WHEN c.seq IS NULL THEN '): entries were removed from the end of the log'
                  ELSE '): the chain was rewritten' END AS detail
      FROM audit_chain_checkpoints k LEFT JOIN audit_chain c ON c.seq = k.seq
      WHERE c.chain_hash IS DISTINCT FROM k.chain_hash
      UNION ALL
      SELECT 'audit_chain_checkpoint', k.id::text,
             'the chain held ' || k.entries::text || ' sealed entries up to entry ' || k.seq::text || ' when it was verified at ' ||
             k.verified_at::text || ' and holds ' || n.entries::text || ' now: sealed entries were removed or added behind ClubOS''s back'
      FROM (SELECT * FROM audit_chain_checkpoints ORDER BY seq DESC, id DESC LIMIT 1) k
      CROSS JOIN LATERAL (SELECT count(*) AS entries FROM audit_chain c WHERE c.seq <= k.seq) n
      WHERE ${from}::bigint > 0 AND n.entries <> k.entries`;
}

/** The chain check as parts that together return exactly its violations: the checkpoints, which
 * entries are in only one table (over the whole chain), and the re-hash and re-link of the entries
 * after `from` (0: every entry), each of the last two cut into ranges between the chain's first
 * seq, `from` and its head. */
function chainParts(
  from: number,
  bounds: { first: number | null; after: number | null; head: number | null },
  rangeSeqs = RANGE_SEQS,
) {
  return [
    checkpointsSql(from),
    ...seqRanges(rangeSeqs, null, bounds.first, bounds.head).map(presenceSql),
    ...seqRanges(rangeSeqs, from, bounds.after, bounds.head).map(rehashSql),
  ];
}

/** The whole chain check as one query (the check's sql; a run uses its plan's parts). */
function chainSql() {
  const [first, ...rest] = chainParts(0, { first: null, after: null, head: null });
  return rest.reduce((all, part) => sql<Violation>`${all} UNION ALL ${part}`, first!);
}

/** The chain's first seq, its first seq after `from`, and its head, for cutting it into ranges. */
async function chainBounds(database: CheckReader, from: number) {
  const { rows } = await sql<{ first: string | null; after: string | null; head: string | null }>`
    SELECT (SELECT min(seq) FROM audit_chain) AS first,
           (SELECT min(seq) FROM audit_chain WHERE seq > ${from}::bigint) AS after,
           (SELECT max(seq) FROM audit_chain) AS head`.execute(database.db);
  const n = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return { first: n(rows[0]?.first), after: n(rows[0]?.after), head: n(rows[0]?.head) };
}

/** Where a scheduled scan may start re-hashing: the newest checkpoint, while the newest full one is
 * recent; 0 (everything) otherwise. */
async function incrementalStart(database: CheckReader): Promise<{ seq: number; since: string } | null> {
  const { rows } = await sql<{ seq: string | null; since: Date | null }>`
    SELECT (SELECT max(seq) FROM audit_chain_checkpoints) AS seq,
           (SELECT max(verified_at) FROM audit_chain_checkpoints WHERE full_scan) AS since
    WHERE (SELECT max(verified_at) FROM audit_chain_checkpoints WHERE full_scan)
          > now() - ${FULL_CHAIN_EVERY}::interval`.execute(database.db);
  const row = rows[0];
  if (!row?.seq || !row.since) return null;
  return { seq: Number(row.seq), since: new Date(row.since).toISOString() };
}

/** The audit chain check (S-2). Each clean run records the head it verified as a checkpoint; a
 * scheduled run re-hashes only what was sealed after the newest one, and says so in its note.
 * rangeSeqs (tests: ranges of a few entries) sets how finely the chain is cut for the runner. */
export function auditChainCheck(
  scope: ChainScope = "full",
  { rangeSeqs = RANGE_SEQS }: { rangeSeqs?: number } = {},
): InvariantCheck {
  return {
    id: "ops.audit_chain",
    rule: "S-2",
    description: CHAIN_DESCRIPTION,
    sql: chainSql(),
    async plan(database) {
      // The head before the queries: each query's snapshot holds it and everything before it (the chain
      // is append-only), so a clean result verified at least this far.
      const head = await chainHead(database);
      const start = scope === "scheduled" ? await incrementalStart(database) : null;
      const from = start && head && start.seq <= head.seq ? start.seq : 0;
      const full = from === 0;
      return {
        parts: chainParts(from, await chainBounds(database, from), rangeSeqs),
        note: full
          ? undefined
          : `incremental: re-hashed and re-linked the entries sealed after checkpoint seq ${from}; entries up to it were re-hashed by the full check of ${start?.since} (the next full check is due ${FULL_CHAIN_EVERY} after it; \`clubos audit verify\` checks everything now)`,
        onClean: head
          ? sql`INSERT INTO audit_chain_checkpoints (seq, chain_hash, entries, full_scan, verified_by)
                SELECT ${head.seq}, ${head.chainHash}, count(*), ${full},
                       ${full ? "invariant scan (full)" : "invariant scan (incremental)"}
                FROM audit_chain WHERE seq <= ${head.seq}`
          : undefined,
      };
    },
  };
}

/** The ops checks: the audit chain (S-2), the single system_state row (O3), the incident log (H-2). */
export const opsInvariantChecks = (scope: ChainScope = "full"): InvariantCheck[] => [
  auditChainCheck(scope),
  {
    id: "ops.system_state",
    rule: "O3",
    description: "system_state holds exactly one row (the mode and kill switches)",
    sql: sql<Violation>`
      SELECT 'system_state' AS subject_type, 'system_state' AS subject_id,
             'system_state has ' || count(*)::text || ' rows; exactly one is required' AS detail
      FROM system_state
      HAVING count(*) <> 1`,
  },
  {
    id: "ops.incidents",
    rule: "H-2",
    description:
      "the incident log holds together: every timeline entry and owner points at a row, and no SEV-1 is closed without its review",
    sql: sql<Violation>`
      SELECT 'incident_entry' AS subject_type, e.id::text AS subject_id,
             'belongs to no incident: ' || e.incident_id::text AS detail
      FROM incident_entries e WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id)
      UNION ALL
      SELECT 'area_owner', o.area, 'names no member: ' || o.member_id::text
      FROM area_owners o WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = o.member_id)
      UNION ALL
      SELECT 'incident', i.id::text, 'INC-' || i.number::text || ' is a closed SEV-1 with no review'
      FROM incidents i
      WHERE i.status = 'closed' AND i.severity = 'SEV-1' AND length(btrim(coalesce(i.review, ''))) = 0`,
  },
];
