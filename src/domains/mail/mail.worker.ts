import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../../core/db/schema.ts";
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
}

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
   * message and records its batch. */
  async drain(): Promise<PassResult> {
    const total: PassResult = { claimed: 0, sent: 0, retried: 0, dead: 0, held: 0, deferred: 0 };
    const loop = async () => {
      for (;;) {
        const pass = await this.runOnce();
        for (const key of Object.keys(total) as (keyof PassResult)[]) total[key] += pass[key];
        if (pass.claimed === 0 || pass.deferred > 0 || this.stopping) return;
      }
    };
    await Promise.all([loop(), loop()]);
    return total;
  }

  /** One pass: claim a batch and deliver it. */
  async runOnce(): Promise<PassResult> {
    const result: PassResult = { claimed: 0, sent: 0, retried: 0, dead: 0, held: 0, deferred: 0 };
    const { delivery } = this.options;
    if (this.options.paused?.() || delivery.resting()) return result;
    const claimed = await claimDueMessages(this.options.db, {
      worker: this.id,
      limit: this.options.batch ?? 20,
      leaseMs: this.options.leaseMs,
      domain: this.domain,
    });
    result.claimed = claimed.length;
    const queue = [...claimed];
    const accepted: { id: string; response: string }[] = [];
    const lanes = Array.from({ length: Math.min(this.options.concurrency ?? 4, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        result[await this.deliver(next, accepted)]++;
      }
    });
    try {
      await Promise.all(lanes);
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
        await releaseUnattempted(db, { ...claim, delayMs: delivery.settings.breakerResetMs });
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
