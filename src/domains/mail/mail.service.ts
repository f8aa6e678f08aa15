import type { Kysely } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import type { ForegroundLoad } from "../../core/foreground-load.ts";
import type { MailDependency } from "../../http/context.ts";
import { type DeliverySettings, MailDelivery } from "./mail.delivery.ts";
import { smtpTransport } from "./mail.transport.ts";
import { MailWorker } from "./mail.worker.ts";

/** The mail settings (the app's MailConfig). */
export interface MailSettings extends DeliverySettings {
  smtpUrl: string | undefined;
  from: string;
  leaseMs: number;
  pollMs: number;
  /** The worker's pace while requests are in flight (BUSY_PACE by default). */
  busyBatch?: number;
  busyIntervalMs?: number;
}

/** A process's mail: one delivery (one breaker) shared by its worker and `clubos mail test`, and the
 * dependency status routes show. Its workers yield to the process's foreground work, if given (G11). */
export class MailService implements MailDependency {
  readonly delivery: MailDelivery;
  readonly configured: boolean;
  private worker: MailWorker | undefined;

  constructor(
    readonly settings: MailSettings,
    private readonly foreground?: ForegroundLoad,
  ) {
    this.configured = Boolean(settings.smtpUrl);
    this.delivery = new MailDelivery(
      settings.smtpUrl ? smtpTransport(settings.smtpUrl, settings.from, settings.timeoutMs) : null,
      settings,
    );
  }

  breaker(): string {
    return this.delivery.state();
  }

  workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** A worker over this delivery (not started). */
  makeWorker(
    db: Kysely<DB>,
    options: { paused?: () => boolean; log?: (line: string) => void; id?: string } = {},
  ) {
    return new MailWorker({
      db,
      delivery: this.delivery,
      from: this.settings.from,
      leaseMs: this.settings.leaseMs,
      pollMs: this.settings.pollMs,
      foreground: this.foreground,
      busyBatch: this.settings.busyBatch,
      busyIntervalMs: this.settings.busyIntervalMs,
      ...options,
    });
  }

  /** Starts this process's worker. */
  startWorker(db: Kysely<DB>, options: { paused?: () => boolean; log?: (line: string) => void } = {}) {
    if (this.worker) return this.worker;
    this.worker = this.makeWorker(db, options);
    this.worker.start();
    return this.worker;
  }

  /** Stops the worker, if one runs. */
  async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.stop();
    this.close();
  }

  /** Ends the transport's pooled connections (a later send opens new ones). */
  close(): void {
    this.delivery.transport?.close?.();
  }
}
