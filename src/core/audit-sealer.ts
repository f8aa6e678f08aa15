import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { Anchor } from "./audit-anchors.ts";
import { appendAnchor } from "./audit-anchors.ts";
import { sealPendingEntries } from "./audit-chain.ts";
import type { Database } from "./db/connect.ts";
import { auditSealFailures, auditUnsealed } from "./metrics.ts";

/** Seals the audit chain soon after each commit, sweeps on a timer for other processes' entries,
 * and anchors every new head in the backup folder (flushed to disk) right after its seal: entries
 * sealed but not yet anchored are the only ones that could be deleted without a trace, so that
 * window is kept to one disk flush. Failures are counted, never fatal: unsealed entries stay in the
 * log and are sealed on the next successful run, and an anchor that could not be written is retried
 * (the seal it belongs to is already committed). */
export class AuditSealer {
  private pending: NodeJS.Timeout | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private flush: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastAnchor = 0;
  /** The newest head this sealer sealed and has not anchored yet. Only heads it sealed itself are
   * anchored: anchoring whatever head the database shows would bless a chain rewritten meanwhile. */
  private unanchored: Anchor | null = null;

  /** anchorEveryMs: 0 (the default) anchors at every seal. A positive value writes at most one
   * anchor per that many ms, and never leaves a seal unanchored for longer: the entries sealed in
   * that window could be deleted without a trace (the old once-a-minute behaviour, kept for tests). */
  constructor(
    private readonly database: Database,
    private readonly backupDir: string,
    private readonly log?: FastifyBaseLogger,
    private readonly anchorEveryMs = 0,
  ) {}

  /** Asks for a seal shortly; many commits close together share one run. */
  schedule = (): void => {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.runOnce();
    }, 50);
    this.pending.unref();
  };

  /** Seals now and anchors what it sealed (forceAnchor: even inside anchorEveryMs); resolves when done. */
  async runOnce(forceAnchor = false): Promise<void> {
    // Chain behind the previous run, and publish this run before awaiting: with an await first, two
    // callers waiting on the same run would then seal at once, and one could resolve (e.g. stop's last
    // seal) while the other's seal was still uncommitted.
    const previous = this.running;
    this.running = (async () => {
      await previous?.catch(() => {});
      try {
        const { anchor } = await sealPendingEntries(this.database);
        if (anchor) this.unanchored = anchor;
        const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM audit_log
          WHERE seq > coalesce((SELECT max(seq) FROM audit_chain), 0)`.execute(this.database.db);
        auditUnsealed.set(Number(rows[0]?.n ?? 0));
      } catch (error) {
        auditSealFailures.inc();
        this.log?.warn({ err: error }, "audit chain sealing failed; will retry");
      }
      await this.anchorIfDue(forceAnchor);
    })();
    return this.running;
  }

  private async anchorIfDue(force: boolean): Promise<void> {
    const anchor = this.unanchored;
    if (!anchor) return;
    const wait = this.lastAnchor + this.anchorEveryMs - Date.now();
    if (!force && wait > 0) {
      if (!this.flush) {
        this.flush = setTimeout(() => {
          this.flush = undefined;
          void this.runOnce(true);
        }, wait);
        this.flush.unref();
      }
      return;
    }
    try {
      await appendAnchor(this.backupDir, anchor);
      if (this.unanchored === anchor) this.unanchored = null;
      this.lastAnchor = Date.now();
    } catch (error) {
      auditSealFailures.inc();
      this.log?.warn({ err: error, seq: anchor.seq }, "audit anchor could not be written; will retry");
    }
  }

  start(sweepMs = 5000): void {
    this.sweep = setInterval(() => void this.runOnce(), sweepMs);
    this.sweep.unref();
  }

  /** Stops the timers after a last seal and anchor. */
  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    if (this.pending) clearTimeout(this.pending);
    if (this.flush) clearTimeout(this.flush);
    await this.runOnce(true);
  }
}
