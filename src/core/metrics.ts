import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The process's metrics, served at /metrics (C-4, G17: operators see rejections, latency, backlog). */
export const registry = new Registry();

/** Actions by name and outcome (committed, replayed, refused by the mode, failed, denied). */
export const actionCounter = new Counter({
  name: "clubos_actions_total",
  help: "Domain actions by name and outcome",
  labelNames: ["action", "outcome"] as const,
  registers: [registry],
});

/** HTTP responses by load class and status. */
export const httpCounter = new Counter({
  name: "clubos_http_responses_total",
  help: "HTTP responses by load class and status code",
  labelNames: ["load_class", "status"] as const,
  registers: [registry],
});

/** Request latency by load class. */
export const httpLatency = new Histogram({
  name: "clubos_http_request_seconds",
  help: "HTTP request latency by load class",
  labelNames: ["load_class"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** The labelled series of each load class and status, looked up once: every response counts. */
const responseSeries = new Map<
  string,
  { count: ReturnType<typeof httpCounter.labels>; latency: ReturnType<typeof httpLatency.labels> }
>();

/** Counts one HTTP response of this load class and status, with its latency. */
export function countResponse(loadClass: string, status: number, seconds: number): void {
  const key = `${loadClass}|${status}`;
  let series = responseSeries.get(key);
  if (!series) {
    series = {
      count: httpCounter.labels({ load_class: loadClass, status: String(status) }),
      latency: httpLatency.labels({ load_class: loadClass }),
    };
    responseSeries.set(key, series);
  }
  series.count.inc();
  series.latency.observe(seconds);
}

/** Requests refused by guards, by reason (unauthenticated, forbidden, read_only, ...). */
export const refusalCounter = new Counter({
  name: "clubos_refusals_total",
  help: "Requests refused by a guard, by error code",
  labelNames: ["code"] as const,
  registers: [registry],
});

/** Audit entries written but not yet sealed into the chain. */
export const auditUnsealed = new Gauge({
  name: "clubos_audit_unsealed_entries",
  help: "Audit entries not yet sealed into the hash chain",
  registers: [registry],
});

/** Sealing runs that failed. */
export const auditSealFailures = new Counter({
  name: "clubos_audit_seal_failures_total",
  help: "Audit chain sealing runs that failed",
  registers: [registry],
});

/** 1 when the system is in normal mode, 0 otherwise; -1 when the state cannot be read. */
export const modeGauge = new Gauge({
  name: "clubos_mode_normal",
  help: "1 normal, 0 read-only or maintenance, -1 state unreadable",
  registers: [registry],
});

/** Failed logins, by reason. */
export const loginFailures = new Counter({
  name: "clubos_login_failures_total",
  help: "Failed logins by reason",
  labelNames: ["reason"] as const,
  registers: [registry],
});

/** Seconds since the PostgreSQL server last archived a WAL segment (pg_stat_archiver), read when
 * /metrics or the operator page is; -1 when there is none to report (embedded database, archiving
 * off, nothing archived yet, or the server did not answer). */
export const walArchiveAge = new Gauge({
  name: "clubos_wal_archive_age_seconds",
  help: "Seconds since the last archived WAL segment; -1 when not archiving or unknown",
  registers: [registry],
});

/** The mail circuit breaker in this process (G11): 0 closed, 1 open, 2 half-open, -1 no mail server
 * configured (messages are kept in the local mailbox). */
export const mailBreakerGauge = new Gauge({
  name: "clubos_mail_breaker_state",
  help: "Mail circuit breaker: 0 closed, 1 open, 2 half-open, -1 no mail server configured",
  registers: [registry],
});

/** Outbox messages waiting to be sent, read at scrape time. */
export const mailQueueDepth = new Gauge({
  name: "clubos_mail_queue_depth",
  help: "Outbox messages waiting to be sent",
  registers: [registry],
});

/** Age of the oldest waiting message, read at scrape time; 0 when none waits. */
export const mailOldestWaiting = new Gauge({
  name: "clubos_mail_oldest_waiting_seconds",
  help: "Seconds the oldest waiting outbox message has waited; 0 when none",
  registers: [registry],
});

/** Dead letters: messages whose last retry failed or that the server refused; read at scrape time. */
export const mailDeadLetters = new Gauge({
  name: "clubos_mail_dead_letters",
  help: "Outbox messages dead-lettered (need an admin's retry)",
  registers: [registry],
});

/** Delivery attempts by outcome (accepted, rejected, failed, breaker_open, held). */
export const mailAttempts = new Counter({
  name: "clubos_mail_attempts_total",
  help: "Mail delivery attempts by outcome",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

/** What the newest leak audit of the published site found (G08): 0 clean, more is a leak; -1 before the
 * first audit or when it cannot be read. Set by the audit and read again at scrape time. */
export const pagesLeakFindings = new Gauge({
  name: "clubos_pages_leak_findings",
  help: "Findings of the newest publishing leak audit; 0 clean, -1 no audit yet or unreadable",
  registers: [registry],
});
