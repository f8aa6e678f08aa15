import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import type { ForegroundLoad } from "../../core/foreground-load.ts";
import { mailAttempts } from "../../core/metrics.ts";
import type { MailDelivery } from "./mail.delivery.ts";
import { messageHeaders } from "./mail.transport.ts";
import {
  type ClaimedMessage,
  claimDueMessages,
  markAttemptFailed,
  markDead,
  markHeld,
  markSentMany,
  markUndeliverable,
  releaseUnattempted,
} from "./outbox.repository.ts";

/** The worker's pace while requests are in flight, unless configured (CLUBOS_MAIL_BUSY_BATCH,
 * CLUBOS_MAIL_BUSY_INTERVAL_MS): 2 messages per 250 ms, about 8 a second, leave a server that is never
 * idle, at a cost in CPU its requests do not notice. */
export const BUSY_PACE = { batch: 2, intervalMs: 250 };

/** What a worker needs besides its delivery: where, how long a claim lasts, how often to look. */
export interface WorkerOptions {
  db: Kysely<DB>;
  delivery: MailDelivery;
  from: string;
  leaseMs: number;
  pollMs: number;
  /** Messages claimed at once, and sent at the same time. */
  batch?: number;
  concurrency?: number;
  /** True while delivery must wait (the mode is not normal or cannot be read: REC-2, side effects
   * suspended during a restore). */
  paused?: () => boolean;
  log?: (line: string) => void;
  /** This process's requests in flight (G11: mail never slows a core action). While there are any, the
   * worker sends at most `busyBatch` messages, one at a time, per `busyIntervalMs` (so mail still leaves
   * a server that is never idle), and at full speed again once they end. Absent: never busy. */
  foreground?: Pick<ForegroundLoad, "busy" | "whenIdle">;
  busyBatch?: number;
  busyIntervalMs?: number;
  /** Names the worker in claims (claimed_by); random by default. */
  id?: string;
}

/** Counts of one pass. */
export interface PassResult {
  claimed: number;
  sent: number;
  retried: number;
  dead: number;
  held: number;
  deferred: number;
  /** Claimed, then given back unattempted because requests arrived: they go out at the busy pace. */
  yielded: number;
}

const emptyPass = (): PassResult => ({
  claimed: 0,
  sent: 0,
  retried: 0,
  dead: 0,
  held: 0,
  deferred: 0,
  yielded: 0,
});

/** The outbox delivery worker (G11, I-3, W-6): outside every request and transaction, it claims due
 * messages with a lease, sends each through MailDelivery (timeout, circuit breaker) and records the
 * outcome only while it still holds the claim. A message is marked sent only after the server accepted
 * it; a crash between acceptance and the mark resends it once the lease ends, with the same Message-ID. */
export class MailWorker {
  readonly id: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  /** Set by stop(): a drain under way ends after its pass. */
  private stopping = false;
  private readonly domain: string;
  /** When the next pass may start while the process is busy (shared by the drain's passes). */
  private nextBusyPassAt = 0;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.id ?? `worker:${randomUUID().slice(0, 8)}`;
    this.domain = /@([^>\s]+)/.exec(options.from)?.[1] ?? "clubos.invalid";
  }

  /** Starts polling; each pass runs after the previous one ended. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = false;
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.drain().catch((error) =>
        this.options.log?.(`mail worker: ${(error as Error).message}`),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for the pass under way; its unfinished claims expire with their lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Passes until nothing is due (or the breaker opens, or delivery is paused). Two passes run at once,
   * each with its own claim, so the connections keep sending while one pass waits for its slowest
   * message and records its batch. While requests are in flight, passes are small and paced instead. */
  async drain(): Promise<PassResult> {
    const total = emptyPass();
    const loop = async () => {
      for (;;) {
        const busy = await this.paceWhileBusy();
        if (this.stopping) return;
        const pass = await this.runOnce(busy);
        for (const key of Object.keys(total) as (keyof PassResult)[]) total[key] += pass[key];
        if (pass.claimed === 0 || pass.deferred > 0 || this.stopping) return;
      }
    };
    await Promise.all([loop(), loop()]);
    return total;
  }

  /** Waits while the process is busy until a busy pass is due (one per busyIntervalMs, whichever of the
   * drain's passes takes it); true if the next pass is such a small one, false once the process is idle
   * (or the worker stops). Wakes as soon as the requests end, so an idle server drains at full speed. */
  private async paceWhileBusy(): Promise<boolean> {
    const { foreground } = this.options;
    for (;;) {
      if (!foreground?.busy() || this.stopping) return false;
      const wait = this.nextBusyPassAt - performance.now();
      if (wait <= 0) {
        this.nextBusyPassAt = performance.now() + (this.options.busyIntervalMs ?? BUSY_PACE.intervalMs);
        return true;
      }
      await foreground.whenIdle(wait);
    }
  }

  /** One pass: claim a batch and deliver it; `busy`: a small one through one lane (requests in flight). */
  async runOnce(busy = false): Promise<PassResult> {
    const result = emptyPass();
    const { delivery, foreground } = this.options;
    if (this.options.paused?.() || delivery.resting()) return result;
    const claimed = await claimDueMessages(this.options.db, {
      worker: this.id,
      limit: busy ? (this.options.busyBatch ?? BUSY_PACE.batch) : (this.options.batch ?? 20),
      leaseMs: this.options.leaseMs,
      domain: this.domain,
    });
    result.claimed = claimed.length;
    const queue = [...claimed];
    const accepted: { id: string; response: string }[] = [];
    const laneCount = busy ? 1 : (this.options.concurrency ?? 4);
    const lanes = Array.from({ length: Math.min(laneCount, queue.length) }, async () => {
      // A full-speed pass stops taking messages once requests arrive (G11); the rest is given back below.
      while (queue.length > 0 && (busy || !foreground?.busy())) {
        result[await this.deliver(queue.shift()!, accepted)]++;
      }
    });
    try {
      await Promise.all(lanes);
      // Given back at once, unattempted: the next (busy) passes claim them again.
      await releaseUnattempted(this.options.db, { ids: queue.map((m) => m.id), worker: this.id, delayMs: 0 });
      result.yielded = queue.length;
    } finally {
      // Marked together, and also when a lane failed: what the server accepted must not go out twice.
      await markSentMany(this.options.db, this.id, accepted);
    }
    return result;
  }

  /** Sends one message and records the outcome, except an acceptance, which goes into `accepted` for the
   * pass to mark in one statement. */
  private async deliver(
    m: ClaimedMessage,
    accepted: { id: string; response: string }[],
  ): Promise<Exclude<keyof PassResult, "claimed">> {
    const { db, delivery } = this.options;
    const claim = { id: m.id, worker: this.id };
    if (!delivery.transport) {
      await markHeld(db, claim);
      mailAttempts.inc({ outcome: "held" });
      return "held";
    }
    if (!m.recipient) {
      await markDead(db, { ...claim, error: "The message has no recipient.", attempted: false });
      return "dead";
    }
    if (m.undeliverable !== null) {
      const error = `not sent: ${m.recipient} is marked undeliverable (${m.undeliverable})`;
      await markDead(db, { ...claim, error, attempted: false });
      return "dead";
    }
    const outcome = await delivery.attempt({
      to: m.recipient,
      subject: m.subject ?? "",
      text: m.body ?? "",
      messageId: m.message_id,
      headers: messageHeaders(m.headers),
      html: m.html ?? undefined,
    });
    mailAttempts.inc({ outcome: outcome.kind.replace(" ", "_") });
    switch (outcome.kind) {
      case "accepted":
        accepted.push({ id: m.id, response: outcome.response });
        return "sent";
      case "rejected":
        await markUndeliverable(db, { address: m.recipient, reason: outcome.error, outboxId: m.id });
        await markDead(db, { ...claim, error: outcome.error, attempted: true });
        return "dead";
      case "breaker open":
        await releaseUnattempted(db, {
          ids: [m.id],
          worker: this.id,
          delayMs: delivery.settings.breakerResetMs,
        });
        return "deferred";
      case "failed": {
        const state = await markAttemptFailed(db, {
          ...claim,
          error: outcome.error,
          delayMs: delivery.retryDelayMs(m.attempts + 1),
          maxAttempts: delivery.settings.maxAttempts,
        });
        return state === "dead" ? "dead" : "retried";
      }
    }
  }
}
