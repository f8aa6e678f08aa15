import { createHash } from "node:crypto";
import fs from "node:fs";
import { sql } from "kysely";
import { AUDIT_SEQ_LOCK } from "./audit.ts";
import { type Anchor, anchorFile, appendAnchor, readAnchors } from "./audit-anchors.ts";
import type { Database } from "./db/connect.ts";
import { sqlState } from "./errors.ts";

/* Why the chain is sealed after commit rather than inside each action: chaining inside the action
 * means every action waits for the previous one's commit (one global lock held through fsync),
 * which costs far more than the 20% the benchmark allows at 16 clients. Instead each action holds
 * a shared advisory lock while it takes its seq; the sealer briefly takes it exclusively, which
 * tells it that every seq up to the sequence's current value is settled (committed or rolled back),
 * and then chains those entries in seq order. Rolled-back gaps are simply absent, and an entry that
 * appears below the sealed head later can only have been inserted behind the application's back. */

const SEALER_LOCK = 7_204_002;
const ZERO = "0".repeat(64);

/** Highest seq whose transaction has certainly finished. */
async function settledHorizon(database: Database): Promise<number | null> {
  try {
    return await database.db.transaction().execute(async (trx) => {
      // While this request waits, new writers queue behind it; so it waits briefly, and when a long
      // transaction holds the lock it gives up (null) and the next run tries again. Writers are never
      // stalled for longer than this, and a writer waiting on its caller cannot deadlock with it.
      await sql`SET LOCAL lock_timeout = ${sql.lit(`${HORIZON_WAIT_MS}ms`)}`.execute(trx);
      await sql`SELECT pg_advisory_xact_lock(${AUDIT_SEQ_LOCK})`.execute(trx);
      const { rows } = await sql<{
        last_value: number;
        is_called: boolean;
      }>`SELECT last_value, is_called FROM audit_log_seq_seq`.execute(trx);
      const row = rows[0];
      return row?.is_called ? Number(row.last_value) : 0;
    });
  } catch (error) {
    if (sqlState(error) === "55P03") return null; // lock_not_available: a writer is still in flight
    throw error;
  }
}

/** How long the sealer waits for in-flight writers before trying again later. */
const HORIZON_WAIT_MS = 250;

/** The chain's head: the last sealed seq and its hash. */
export interface ChainHead {
  seq: number;
  chainHash: string;
}

/** Seals every settled, unsealed entry, without anchoring; returns how many, and the anchor for the
 * head this very run sealed up to (null when it sealed nothing: another sealer was busy, or a long
 * transaction is still writing and a later run seals its entries). Only the sealer and
 * sealAuditChain call this: a seal that is not followed by its anchor leaves the newest entries
 * deletable without a trace. */
export async function sealPendingEntries(
  database: Database,
): Promise<{ sealed: number; anchor: Anchor | null }> {
  const horizon = await settledHorizon(database);
  if (horizon === null) return { sealed: 0, anchor: null };
  return database.db.transaction().execute(async (trx) => {
    const lock = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${SEALER_LOCK}) AS ok`.execute(
      trx,
    );
    if (!lock.rows[0]?.ok) return { sealed: 0, anchor: null };
    const { rows } = await sql<{ n: number }>`SELECT clubos_audit_seal(${horizon}) AS n`.execute(trx);
    const sealed = Number(rows[0]?.n ?? 0);
    if (sealed === 0) return { sealed, anchor: null };
    // Read inside the sealing transaction, under the sealer lock: exactly the head this run made.
    const head = await sql<{ seq: number; chain_hash: string; installation_id: string }>`
      SELECT c.seq, c.chain_hash, (SELECT installation_id FROM system_state) AS installation_id
      FROM audit_chain c ORDER BY c.seq DESC LIMIT 1`.execute(trx);
    const row = head.rows[0]!;
    const anchor: Anchor = {
      installationId: row.installation_id,
      seq: Number(row.seq),
      chainHash: row.chain_hash,
      at: new Date().toISOString(),
    };
    return { sealed, anchor };
  });
}

/** Seals every settled, unsealed entry and anchors the new head in the backup folder (flushed to
 * disk) before returning how many were sealed. The seal commits first, so a failed anchor write
 * throws with the seal kept: the next seal's anchor covers it (a chain hash covers every entry
 * before it). */
export async function sealAuditChain(database: Database, backupDir: string): Promise<number> {
  const { sealed, anchor } = await sealPendingEntries(database);
  if (anchor) await appendAnchor(backupDir, anchor);
  return sealed;
}

/** The chain's head: the last sealed seq and its hash. */
export async function chainHead(database: Pick<Database, "db">): Promise<ChainHead | null> {
  const row = await database.db
    .selectFrom("audit_chain")
    .select(["seq", "chain_hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), chainHash: row.chain_hash } : null;
}

/** This installation's id: anchors and backup manifests carry it, so a folder shared with another
 * installation's files is read only for this one's. */
export async function installationId(database: Database): Promise<string> {
  const row = await database.db
    .selectFrom("system_state")
    .select("installation_id")
    .executeTakeFirstOrThrow();
  return row.installation_id;
}

/** This installation's readable anchors in the backup folder. */
function ownAnchors(backupDir: string, id: string): Anchor[] {
  return readAnchors(backupDir).filter((a) => a.installationId === id);
}

/** What a backup manifest (and its off-site copy) records so that a later verify can tell a
 * rewritten chain or a cut-short anchor file: pass it back to verifyAuditChain as a recorded head. */
export async function auditHeadRecord(
  database: Database,
  backupDir: string,
): Promise<{ seq: number; hash: string; anchorCount: number } | null> {
  const head = await chainHead(database);
  if (!head) return null;
  const anchorCount = ownAnchors(backupDir, await installationId(database)).length;
  return { seq: head.seq, hash: head.chainHash, anchorCount };
}

/** Appends the current chain head to the anchor file unless an anchor already names it. Used by
 * `clubos audit anchor`, an operator's deliberate step: it anchors whatever the database holds now. */
export async function anchorAuditChain(database: Database, backupDir: string): Promise<Anchor | null> {
  const head = await chainHead(database);
  if (!head) return null;
  const id = await installationId(database);
  const same = ownAnchors(backupDir, id).find((a) => a.seq === head.seq && a.chainHash === head.chainHash);
  if (same) return same;
  const anchor: Anchor = {
    installationId: id,
    seq: head.seq,
    chainHash: head.chainHash,
    at: new Date().toISOString(),
  };
  await appendAnchor(backupDir, anchor);
  return anchor;
}

/** One problem found by verification. */
export interface ChainProblem {
  seq: number;
  kind:
    | "edited"
    | "removed"
    | "inserted"
    | "orphan_seal"
    | "anchor_mismatch"
    | "anchor_missing"
    | "anchor_unreadable"
    | "anchors_missing"
    | "anchor_behind"
    | "chain_truncated"
    | "recorded_head_mismatch"
    | "anchors_truncated";
  message: string;
}

/** A chain head recorded somewhere else than the anchor file (a backup manifest, its off-site copy). */
export interface RecordedHead {
  /** Where it was recorded, named in the problem message (e.g. "backup 2026-12-02T01:00Z (off-site)"). */
  source: string;
  seq: number;
  hash: string;
  /** How many anchors of this installation the anchor file held when it was recorded. */
  anchorCount?: number;
}

/** What verifyAuditChain checks besides the chain itself. */
export interface VerifyOptions {
  onProgress?: (done: number) => void;
  /** Heads recorded elsewhere: the chain must still hold each one, and the anchor file must not have
   * shrunk since. */
  recordedHeads?: readonly RecordedHead[];
  /** For a restored copy (a drill): the seq its chain is expected to end at. Anchors after it name
   * entries written after the copy was taken, so they are skipped instead of reported as missing. */
  chainEnd?: number;
  /** How long to wait for a concurrent sealer's anchor before reporting the head unanchored. */
  anchorWaitMs?: number;
}

/** The outcome of `clubos audit verify`. */
export interface VerifyReport {
  ok: boolean;
  entries: number;
  sealed: number;
  pending: number;
  /** The last sealed entry when verify started. */
  head: ChainHead | null;
  anchorFile: string;
  anchorsChecked: number;
  /** The highest seq an anchor names (null without anchors). */
  newestAnchorSeq: number | null;
  recordedHeadsChecked: number;
  problems: ChainProblem[];
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const RUNBOOK = "docs/runbooks/audit-tamper.md";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scan {
  entries: number;
  sealed: number;
  pending: number;
  /** The highest sealed seq the scan saw (0 for an empty chain). */
  end: number;
  /** chain_hash at each seq someone asked about (anchors, recorded heads). */
  hashAt: Map<number, string>;
}

/** Recomputes every entry's hash and the chain links from the start, in batches. */
async function scanChain(
  database: Database,
  headSeq: number,
  wanted: ReadonlySet<number>,
  problems: ChainProblem[],
  onProgress?: (done: number) => void,
): Promise<Scan> {
  const scan: Scan = { entries: 0, sealed: 0, pending: 0, end: 0, hashAt: new Map() };
  let prev = ZERO;
  let after = 0;
  const batch = 5000;
  // Each batch reads the next seqs of either table by its primary key (a FULL JOIN filtered on
  // coalesce(seq) cannot use an index, and read both whole tables for every batch).
  for (;;) {
    const { rows } = await sql<{
      seq: number;
      fresh: string | null;
      entry_hash: string | null;
      chain_hash: string | null;
    }>`SELECT s.seq, clubos_audit_entry_hash(a) AS fresh, c.entry_hash, c.chain_hash
       FROM (
         (SELECT seq FROM audit_log WHERE seq > ${after} ORDER BY seq LIMIT ${batch})
         UNION
         (SELECT seq FROM audit_chain WHERE seq > ${after} ORDER BY seq LIMIT ${batch})
         ORDER BY seq LIMIT ${batch}
       ) s
       LEFT JOIN audit_log a ON a.seq = s.seq
       LEFT JOIN audit_chain c ON c.seq = s.seq
       ORDER BY s.seq`.execute(database.db);
    for (const row of rows) {
      const seq = Number(row.seq);
      after = seq;
      if (row.fresh !== null) scan.entries++;
      if (row.chain_hash === null) {
        if (seq < headSeq) {
          problems.push({
            seq,
            kind: "inserted",
            message: `Entry ${seq} sits inside the sealed chain but was never sealed: it was inserted behind ClubOS's back.`,
          });
        } else scan.pending++;
        continue;
      }
      scan.sealed++;
      scan.end = seq;
      if (row.fresh === null) {
        problems.push({
          seq,
          kind: "orphan_seal",
          message: `Entry ${seq} was sealed but is gone from the audit log: it was deleted.`,
        });
      } else if (row.fresh !== row.entry_hash) {
        problems.push({
          seq,
          kind: "edited",
          message: `Entry ${seq} no longer matches its seal: it was edited after it was written.`,
        });
      }
      const expected = sha256(prev + row.entry_hash);
      if (expected !== row.chain_hash) {
        problems.push({
          seq,
          kind: "removed",
          message: `The chain breaks before entry ${seq}: an entry before it was removed or the chain was rewritten.`,
        });
      }
      prev = row.chain_hash;
      if (wanted.has(seq)) scan.hashAt.set(seq, row.chain_hash);
    }
    onProgress?.(after);
    if (rows.length < batch) break;
  }
  return scan;
}

/** Each anchor must name an entry of the chain with the same chain hash. */
function checkAnchors(anchors: readonly Anchor[], scan: Scan, problems: ChainProblem[]): void {
  const beyond: Anchor[] = [];
  for (const anchor of anchors) {
    const hash = scan.hashAt.get(anchor.seq);
    if (anchor.seq > scan.end) beyond.push(anchor);
    else if (hash === undefined) {
      problems.push({
        seq: anchor.seq,
        kind: "anchor_missing",
        message: `Anchor of ${anchor.at} names entry ${anchor.seq}, which is no longer in the chain: entries were removed.`,
      });
    } else if (hash !== anchor.chainHash) {
      problems.push({
        seq: anchor.seq,
        kind: "anchor_mismatch",
        message: `The chain up to entry ${anchor.seq} differs from its anchor of ${anchor.at}: the log was rewritten.`,
      });
    }
  }
  if (beyond.length === 0) return;
  const first = beyond.reduce((a, b) => (b.seq < a.seq ? b : a));
  const last = beyond.reduce((a, b) => (b.seq > a.seq ? b : a));
  problems.push({
    seq: first.seq,
    kind: "chain_truncated",
    message:
      `The chain ends at entry ${scan.end}, but ${beyond.length} anchor(s) name later entries (${first.seq} to ${last.seq}, anchored ${first.at} to ${last.at}): ` +
      `entries after seq ${scan.end} are missing. This is expected after a point-in-time recovery or a restore to before that time ` +
      `(${RUNBOOK} says how to acknowledge it); otherwise the newest entries were deleted: treat it as tampering.`,
  });
}

/** Every recorded head must still be in the chain, and the anchor file must not have shrunk since. */
function checkRecordedHeads(
  heads: readonly RecordedHead[],
  anchors: readonly Anchor[],
  scan: Scan,
  problems: ChainProblem[],
): void {
  for (const head of heads) {
    const hash = scan.hashAt.get(head.seq);
    if (head.seq > scan.end) {
      problems.push({
        seq: head.seq,
        kind: "chain_truncated",
        message:
          `${head.source} recorded the chain up to entry ${head.seq}, but the chain ends at entry ${scan.end}: entries after seq ${scan.end} are missing. ` +
          `Expected after a point-in-time recovery or a restore to before that record; otherwise the newest entries were deleted.`,
      });
    } else if (hash !== head.hash) {
      problems.push({
        seq: head.seq,
        kind: "recorded_head_mismatch",
        message:
          hash === undefined
            ? `${head.source} recorded entry ${head.seq} as sealed, and it is gone from the chain: entries were removed.`
            : `The chain up to entry ${head.seq} differs from what ${head.source} recorded: the log was rewritten.`,
      });
    }
    const atOrAfter = anchors.filter((a) => a.seq >= head.seq).length;
    if (atOrAfter === 0 || (head.anchorCount !== undefined && anchors.length < head.anchorCount)) {
      problems.push({
        seq: head.seq,
        kind: "anchors_truncated",
        message:
          atOrAfter === 0
            ? `${head.source} recorded the chain up to entry ${head.seq}, but no anchor names that entry or a later one: the anchor file was cut short or replaced.`
            : `${head.source} recorded ${head.anchorCount} anchors, but the anchor file holds ${anchors.length}: it was cut short or replaced.`,
      });
    }
  }
}

/** Recomputes every entry's hash and the chain from the start, and checks it against the anchors
 * (which must exist once anything is sealed) and against heads recorded elsewhere. The anchors are
 * read before the chain is, so an anchor appended meanwhile by a running server is never mistaken
 * for a missing entry. */
export async function verifyAuditChain(
  database: Database,
  backupDir: string,
  options: VerifyOptions | ((done: number) => void) = {},
): Promise<VerifyReport> {
  const opts: VerifyOptions = typeof options === "function" ? { onProgress: options } : options;
  const problems: ChainProblem[] = [];
  const id = await installationId(database);
  const all = readAnchors(backupDir);
  for (const anchor of all.filter((a) => a.installationId === "unreadable")) {
    problems.push({
      seq: -1,
      kind: "anchor_unreadable",
      message: `An anchor line could not be read: ${anchor.chainHash.slice(0, 80)}`,
    });
  }
  const own = all.filter((a) => a.installationId === id);
  const anchors = opts.chainEnd === undefined ? own : own.filter((a) => a.seq <= opts.chainEnd!);
  const head = await chainHead(database);
  const heads = opts.recordedHeads ?? [];
  const wanted = new Set([...anchors.map((a) => a.seq), ...heads.map((h) => h.seq)]);
  const scan = await scanChain(database, head?.seq ?? 0, wanted, problems, opts.onProgress);
  checkAnchors(anchors, scan, problems);
  checkRecordedHeads(heads, own, scan, problems);
  // A loop, not Math.max(...): a file of a million anchors would overflow the argument list.
  let newest: number | null = null;
  for (const a of anchors) if (newest === null || a.seq > newest) newest = a.seq;
  if (scan.sealed > 0 && anchors.length === 0) {
    problems.push({
      seq: head?.seq ?? scan.end,
      kind: "anchors_missing",
      message:
        `${scan.sealed} entries are sealed but ${anchorFile(backupDir)} holds no anchor of this installation (${fileState(backupDir, all)}). ` +
        "An anchor is written at every seal, so the file was deleted, emptied or moved, or CLUBOS_BACKUP_DIR is not the server's backup folder. " +
        `Without anchors a consistently rewritten chain cannot be told from the real one: follow ${RUNBOOK}.`,
    });
  } else if (head && newest !== null && newest < head.seq && opts.chainEnd === undefined) {
    newest = await waitForAnchor(backupDir, id, head.seq, newest, opts.anchorWaitMs ?? 1000);
    if (newest < head.seq) {
      problems.push({
        seq: head.seq,
        kind: "anchor_behind",
        message:
          `Entries up to ${head.seq} are sealed but the newest anchor names entry ${newest}: the anchor file is missing its newest lines. ` +
          "Expected only if the server stopped abruptly right after sealing or could not write to the backup folder (see its log); " +
          `otherwise the anchor file was cut short to hide a rewrite: follow ${RUNBOOK}.`,
      });
    }
  }
  return {
    ok: problems.length === 0,
    entries: scan.entries,
    sealed: scan.sealed,
    pending: scan.pending,
    head,
    anchorFile: anchorFile(backupDir),
    anchorsChecked: anchors.length,
    newestAnchorSeq: newest,
    recordedHeadsChecked: heads.length,
    problems,
  };
}

function fileState(backupDir: string, all: readonly Anchor[]): string {
  if (all.length > 0) return "its lines belong to another installation or cannot be read";
  return fs.existsSync(anchorFile(backupDir)) ? "the file is empty" : "the file does not exist";
}

/** A running sealer appends its anchor just after its seal commits: give it a moment. */
async function waitForAnchor(
  backupDir: string,
  id: string,
  seq: number,
  newest: number,
  waitMs: number,
): Promise<number> {
  const until = Date.now() + waitMs;
  let best = newest;
  while (best < seq && Date.now() < until) {
    await sleep(50);
    for (const a of ownAnchors(backupDir, id)) best = Math.max(best, a.seq);
  }
  return best;
}
