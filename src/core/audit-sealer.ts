import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import { anchorAuditChain, sealAuditChain } from "./audit-chain.ts";
import type { Database } from "./db/connect.ts";
import { auditSealFailures, auditUnsealed } from "./metrics.ts";

/** Seals the audit chain soon after each commit, sweeps on a timer for other processes' entries,
 * and anchors the head in the backup folder now and then. Failures are counted, never fatal:
 * unsealed entries stay in the log and are sealed on the next successful run. */
export class AuditSealer {
  private pending: NodeJS.Timeout | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastAnchor = 0;

  constructor(
    private readonly database: Database,
    private readonly backupDir: string,
    private readonly log?: FastifyBaseLogger,
    private readonly anchorEveryMs = 60_000,
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

  /** Seals now (and anchors if due); resolves when done. */
  async runOnce(forceAnchor = false): Promise<void> {
    // Chain behind the previous run, and publish this run before awaiting: with an await first, two
    // callers waiting on the same run would then seal at once, and one could resolve (e.g. stop's last
    // seal) while the other's seal was still uncommitted.
    const previous = this.running;
    this.running = (async () => {
      await previous?.catch(() => {});
      try {
        await sealAuditChain(this.database);
        const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM audit_log
          WHERE seq > coalesce((SELECT max(seq) FROM audit_chain), 0)`.execute(this.database.db);
        auditUnsealed.set(Number(rows[0]?.n ?? 0));
        if (forceAnchor || Date.now() - this.lastAnchor >= this.anchorEveryMs) {
          await anchorAuditChain(this.database, this.backupDir);
          this.lastAnchor = Date.now();
        }
      } catch (error) {
        auditSealFailures.inc();
        this.log?.warn({ err: error }, "audit chain sealing failed; will retry");
      }
    })();
    return this.running;
  }

  start(sweepMs = 5000): void {
    this.sweep = setInterval(() => void this.runOnce(), sweepMs);
    this.sweep.unref();
  }

  /** Stops the timers after a last seal and anchor. */
  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    if (this.pending) clearTimeout(this.pending);
    await this.runOnce(true);
  }
}
