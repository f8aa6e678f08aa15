import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import { mailBreakerGauge } from "../../core/metrics.ts";
import {
  type Accepted,
  type MailTransport,
  type OutgoingMail,
  PermanentRejection,
} from "./mail.transport.ts";

/** The settings delivery needs (a part of the app's MailConfig). */
export interface DeliverySettings {
  timeoutMs: number;
  breakerFailures: number;
  breakerResetMs: number;
  retryBaseMs: number;
  maxAttempts: number;
}

/** The breaker as admins and /metrics show it; "no server" when SMTP_URL is not set. */
export type BreakerState = "closed" | "open" | "half-open" | "no server";

const GAUGE: Record<BreakerState, number> = { closed: 0, open: 1, "half-open": 2, "no server": -1 };

/** How an attempt ended, for the worker's bookkeeping. */
export type AttemptOutcome =
  | { kind: "accepted"; response: string }
  | { kind: "rejected"; error: string } // 5xx: permanent, the address is marked
  | { kind: "failed"; error: string } // 4xx, network, timeout: retried later
  | { kind: "breaker open"; error: string }; // not attempted: the server failed too often just now

/** Every attempt to the mail server goes through here (I-2): a timeout around each attempt and a
 * circuit breaker around those, so a failing or hanging server costs one timeout per attempt until the
 * breaker opens, and then nothing until it half-opens for one trial. Permanent refusals (5xx) do not
 * count against the server: it answered. */
export class MailDelivery {
  readonly breaker: CircuitBreakerPolicy | null;
  private openedAt = 0;
  private readonly run: (mail: OutgoingMail) => Promise<Accepted>;

  constructor(
    readonly transport: MailTransport | null,
    readonly settings: DeliverySettings,
  ) {
    if (!transport) {
      this.breaker = null;
      this.run = () => Promise.reject(new Error("No mail server is configured (SMTP_URL)."));
      mailBreakerGauge.set(GAUGE["no server"]);
      return;
    }
    const breaker = circuitBreaker(
      handleWhen((e) => !(e instanceof PermanentRejection)),
      {
        halfOpenAfter: settings.breakerResetMs,
        breaker: new ConsecutiveBreaker(settings.breakerFailures),
      },
    );
    breaker.onStateChange(() => mailBreakerGauge.set(GAUGE[this.state()]));
    breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
    const perAttempt = timeout(settings.timeoutMs, TimeoutStrategy.Aggressive);
    const policy = wrap(breaker, perAttempt);
    this.breaker = breaker;
    this.run = (mail) => policy.execute(({ signal }) => transport(mail, signal));
    mailBreakerGauge.set(GAUGE.closed);
  }

  /** The breaker's state now. */
  state(): BreakerState {
    if (!this.breaker) return "no server";
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return "closed";
      case CircuitState.HalfOpen:
        return "half-open";
      default:
        return "open";
    }
  }

  /** True while the breaker is open and not yet due for its trial attempt (cockatiel half-opens only
   * when called, so the worker asks this rather than the state to know whether to claim anything). */
  resting(): boolean {
    return this.state() === "open" && Date.now() - this.openedAt < this.settings.breakerResetMs;
  }

  /** One attempt at one message, classified; never throws. */
  async attempt(mail: OutgoingMail): Promise<AttemptOutcome> {
    try {
      const accepted = await this.run(mail);
      return { kind: "accepted", response: accepted.response };
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        return { kind: "breaker open", error: "not attempted: the mail server failed repeatedly just now" };
      }
      if (error instanceof PermanentRejection) return { kind: "rejected", error: error.message };
      if (error instanceof TaskCancelledError) {
        return {
          kind: "failed",
          error: `no answer from the mail server within ${this.settings.timeoutMs} ms`,
        };
      }
      return { kind: "failed", error: (error as Error).message || String(error) };
    }
  }

  /** How long to wait before attempt number `attempts + 1`: exponential from retryBaseMs with
   * decorrelated jitter (cockatiel's default generator), so many messages failed together do not all
   * come back at the same moment. */
  retryDelayMs(attempts: number): number {
    let backoff = new ExponentialBackoff({
      initialDelay: this.settings.retryBaseMs,
      maxDelay: this.settings.retryBaseMs * 64,
    }).next();
    for (let i = 1; i < attempts; i++) backoff = backoff.next(undefined);
    return Math.max(1, Math.round(backoff.duration));
  }
}
