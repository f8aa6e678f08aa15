import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { AUDIT_SEQ_LOCK } from "./audit.ts";
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

/** Seals every settled, unsealed entry; returns how many were sealed (0 if another sealer is busy,
 * or a long transaction is still writing: its entries are sealed by a later run). */
export async function sealAuditChain(database: Database): Promise<number> {
  const horizon = await settledHorizon(database);
  if (horizon === null) return 0;
  return database.db.transaction().execute(async (trx) => {
    const lock = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${SEALER_LOCK}) AS ok`.execute(
      trx,
    );
    if (!lock.rows[0]?.ok) return 0;
    const { rows } = await sql<{ n: number }>`SELECT clubos_audit_seal(${horizon}) AS n`.execute(trx);
    return Number(rows[0]?.n ?? 0);
  });
}

/** The chain's head: the last sealed seq and its hash. */
export async function chainHead(database: Database): Promise<{ seq: number; chainHash: string } | null> {
  const row = await database.db
    .selectFrom("audit_chain")
    .select(["seq", "chain_hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), chainHash: row.chain_hash } : null;
}

/** One line of the anchor file kept outside the database. */
export interface Anchor {
  installationId: string;
  seq: number;
  chainHash: string;
  at: string;
}

/** The anchor file for a backup folder. */
export function anchorFile(backupDir: string): string {
  return path.join(backupDir, "audit-anchors.jsonl");
}

async function installationId(database: Database): Promise<string> {
  const row = await database.db
    .selectFrom("system_state")
    .select("installation_id")
    .executeTakeFirstOrThrow();
  return row.installation_id;
}

/** Appends the current chain head to the anchor file unless it is already the last anchor. */
export async function anchorAuditChain(database: Database, backupDir: string): Promise<Anchor | null> {
  const head = await chainHead(database);
  if (!head) return null;
  const id = await installationId(database);
  const previous = readAnchors(backupDir).filter((a) => a.installationId === id);
  const last = previous.at(-1);
  if (last && last.seq === head.seq && last.chainHash === head.chainHash) return last;
  const anchor: Anchor = {
    installationId: id,
    seq: head.seq,
    chainHash: head.chainHash,
    at: new Date().toISOString(),
  };
  fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  fs.appendFileSync(anchorFile(backupDir), `${JSON.stringify(anchor)}\n`, { mode: 0o600 });
  return anchor;
}

/** Reads the anchors; a damaged line is reported by verify rather than silently skipped. */
export function readAnchors(backupDir: string): Anchor[] {
  const file = anchorFile(backupDir);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Anchor;
      } catch {
        return { installationId: "unreadable", seq: -1, chainHash: line, at: "" };
      }
    });
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
    | "anchor_unreadable";
  message: string;
}

/** The outcome of `clubos audit verify`. */
export interface VerifyReport {
  ok: boolean;
  entries: number;
  sealed: number;
  pending: number;
  anchorsChecked: number;
  problems: ChainProblem[];
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** Recomputes every entry's hash and the chain from the start, and checks it against the anchors. */
export async function verifyAuditChain(
  database: Database,
  backupDir: string,
  onProgress?: (done: number) => void,
): Promise<VerifyReport> {
  const problems: ChainProblem[] = [];
  const head = await chainHead(database);
  const headSeq = head?.seq ?? 0;
  const chainAt = new Map<number, string>();
  let prev = ZERO;
  let after = 0;
  let entries = 0;
  let sealed = 0;
  let pending = 0;
  const batch = 5000;
  for (;;) {
    const { rows } = await sql<{
      seq: number;
      fresh: string | null;
      entry_hash: string | null;
      chain_hash: string | null;
    }>`SELECT coalesce(a.seq, c.seq) AS seq, clubos_audit_entry_hash(a) AS fresh, c.entry_hash, c.chain_hash
       FROM audit_log a FULL JOIN audit_chain c ON c.seq = a.seq
       WHERE coalesce(a.seq, c.seq) > ${after} ORDER BY 1 LIMIT ${batch}`.execute(database.db);
    for (const row of rows) {
      const seq = Number(row.seq);
      after = seq;
      if (row.fresh !== null) entries++;
      if (row.chain_hash === null) {
        if (seq < headSeq) {
          problems.push({
            seq,
            kind: "inserted",
            message: `Entry ${seq} sits inside the sealed chain but was never sealed: it was inserted behind ClubOS's back.`,
          });
        } else pending++;
        continue;
      }
      sealed++;
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
      chainAt.set(seq, row.chain_hash);
    }
    onProgress?.(after);
    if (rows.length < batch) break;
  }
  const id = await installationId(database);
  const anchors = readAnchors(backupDir);
  let anchorsChecked = 0;
  for (const anchor of anchors) {
    if (anchor.installationId === "unreadable") {
      problems.push({
        seq: -1,
        kind: "anchor_unreadable",
        message: `An anchor line could not be read: ${anchor.chainHash.slice(0, 80)}`,
      });
      continue;
    }
    if (anchor.installationId !== id) continue;
    anchorsChecked++;
    const hash = chainAt.get(anchor.seq);
    if (hash === undefined) {
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
  return { ok: problems.length === 0, entries, sealed, pending, anchorsChecked, problems };
}
