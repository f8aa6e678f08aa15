import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { Counter } from "prom-client";
import type { ActionEnv } from "./action.ts";
import type { Actor } from "./actor.ts";
import type { Database } from "./db/connect.ts";
import { ClubError, CORE_ERRORS } from "./errors.ts";
import { recordJobRun } from "./job-progress.ts";
import { registry } from "./metrics.ts";
import { MODES, type Mode, readSystemState } from "./modes.ts";

/* Scheduled jobs (I-3): idempotent, pausable without loss, never on a request path, never fatal.
 * Scale-out: each run holds a PostgreSQL advisory lock named after the job, so when several servers
 * share a database one of them runs it and the others report "busy". The embedded engine serves one
 * process only (the data folder lock), so there an in-process guard is the whole story. */

/** Job runs by job and outcome (ok, failed, deferred, busy): the operator's signal that jobs stall. */
export const jobRunCounter = new Counter({
  name: "clubos_job_runs_total",
  help: "Scheduled job runs by job and outcome (ok, failed, deferred, busy)",
  labelNames: ["job", "outcome"] as const,
  registers: [registry],
});

/** The least configuration every job may read. */
export interface JobConfig {
  timeZone: string;
}

/** What a job may use; a process's AppContext satisfies it with the whole configuration as `C`, so a
 * job the app assembles (the backups) reads its settings typed, while core knows no app setting. */
export interface JobContext<C extends JobConfig = JobConfig> {
  database: Database;
  config: C;
  actionEnv(actor: Actor, requestId?: string): ActionEnv;
}

/** One run of a job, as the job sees it. */
export interface JobRun<C extends JobConfig = JobConfig> {
  ctx: JobContext<C>;
  /** Stored as the request id of the run's actions, so its audit entries can be found together. */
  runId: string;
  /** "scheduler" or the operator who ran it by hand (`operator:alice`). */
  triggeredBy: string;
  now: Date;
  /** Aborted when the process shuts down: stop between items; the rest is done next run. */
  signal: AbortSignal;
  progress(text: string): void;
}

/** What a job reports about its run. */
export interface JobSummary {
  changed: number;
  failed: number;
  detail?: string;
}

/** The sets of modes a job may declare it runs in, named for what the job does. */
export const JOB_MODES = {
  /** It changes club data or sends mail (lapses, reminders, scheduled publishing, purges): normal only,
   * so read-only and maintenance (a restore) stop it. */
  normal: ["normal"],
  /** It reads or protects the data and changes none of it (backups, drills, invariant scans): also in
   * read-only mode, when that matters most; never in maintenance, while a restore replaces the data. */
  protective: ["normal", "read-only"],
  /** It watches the degraded state itself and writes only what recovery allows (alerts): every mode. */
  always: MODES,
} as const satisfies Record<string, readonly Mode[]>;

/** A named job run on an interval. run() must be idempotent: running it twice changes nothing more. */
export interface Job<C extends JobConfig = JobConfig> {
  name: string;
  description: string;
  intervalMs: number;
  /** The modes it runs in (one of JOB_MODES), read only by runJob: in any other mode a run is
   * deferred (counted, not started, tried again at the next tick). */
  modes: readonly Mode[];
  run(run: JobRun<C>): Promise<JobSummary>;
}

/** Why a job does not run in this mode, or null when it does: the one reading of Job.modes. */
export function jobModeRefusal(job: Pick<Job, "name" | "modes">, mode: Mode): string | null {
  if (job.modes.includes(mode)) return null;
  return `the system is in ${mode} mode, and ${job.name} runs only in ${job.modes.join(" or ")} mode`;
}

/** How a run ended: done, failed, deferred (mode not normal), or busy (running elsewhere). */
export type JobOutcome = "ok" | "failed" | "deferred" | "busy";

/** The result of one attempt to run a job. */
export interface JobRunResult {
  job: string;
  runId: string;
  outcome: JobOutcome;
  summary?: JobSummary;
  /** Why it did not run, or what failed, in words for the operator. */
  reason?: string;
  ms: number;
}

/** A pino-shaped logger (Fastify's app.log fits). */
export interface JobLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

// An action refused with these codes means the mode changed under the run: defer, do not fail.
const DEFERRING = new Set(["read_only", "state_unavailable"]);
// First key of the two-key advisory lock space, so job locks never meet single-key locks (audit).
const JOB_LOCK_SPACE = 7_204_100;
const running = new WeakMap<Database, Set<string>>();

/** Runs fn while holding the job's advisory lock; undefined when another session holds it. */
async function withJobLock<T>(
  database: Database,
  name: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  if (database.kind === "pglite") return fn();
  // A session lock needs one connection held for the whole run; the job's actions use others.
  return database.db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`
      SELECT pg_try_advisory_lock(${JOB_LOCK_SPACE}::int, hashtext(${name})) AS locked`.execute(conn);
    if (!rows[0]?.locked) return undefined;
    try {
      return await fn();
    } finally {
      await sql`SELECT pg_advisory_unlock(${JOB_LOCK_SPACE}::int, hashtext(${name}))`.execute(conn);
    }
  });
}

/** Runs a job once, now: mode check, lock, run. Never throws; the outcome is counted and returned. */
export async function runJob<C extends JobConfig>(
  ctx: JobContext<C>,
  job: Job<C>,
  options: { triggeredBy?: string; now?: Date; progress?: (text: string) => void; signal?: AbortSignal } = {},
): Promise<JobRunResult> {
  const runId = `job:${job.name}:${randomUUID()}`;
  const started = performance.now();
  const finish = (outcome: JobOutcome, extra: Partial<JobRunResult> = {}): JobRunResult => {
    jobRunCounter.inc({ job: job.name, outcome });
    return { job: job.name, runId, outcome, ms: Math.round(performance.now() - started), ...extra };
  };
  const mine = running.get(ctx.database) ?? new Set<string>();
  running.set(ctx.database, mine);
  if (mine.has(job.name)) return finish("busy", { reason: "it is already running in this process" });
  mine.add(job.name);
  try {
    const summary = await withJobLock(ctx.database, job.name, async () => {
      // Read inside the lock: a mode switched while we waited for it still counts.
      const state = await readSystemState(ctx.database.db).catch(() => null);
      if (!state) throw CORE_ERRORS.state_unavailable("the system mode cannot be read");
      const refusal = jobModeRefusal(job, state.mode);
      if (refusal) throw CORE_ERRORS.read_only(refusal);
      const triggeredBy = options.triggeredBy ?? "scheduler";
      const record = await recordJobRun(ctx.database.db, { job: job.name, runId, triggeredBy });
      try {
        const done = await job.run({
          ctx,
          runId,
          triggeredBy,
          now: options.now ?? new Date(),
          signal: options.signal ?? new AbortController().signal,
          progress: (text) => {
            record.note(text);
            options.progress?.(text);
          },
        });
        await record.finish(done.failed > 0 ? "failed" : "ok", done.detail);
        return done;
      } catch (error) {
        await record.finish("failed", error instanceof Error ? error.message : String(error));
        throw error;
      }
    });
    if (!summary) return finish("busy", { reason: "another server is running it" });
    if (summary.failed > 0)
      return finish("failed", { summary, reason: `${summary.failed} item(s) failed; see the log` });
    return finish("ok", { summary });
  } catch (error) {
    if (error instanceof ClubError && DEFERRING.has(error.code)) {
      return finish("deferred", { reason: `${error.message}; it runs again once the mode allows it` });
    }
    return finish("failed", { reason: error instanceof Error ? error.message : String(error) });
  } finally {
    mine.delete(job.name);
  }
}

/** Runs jobs on their intervals inside `clubos serve`. A job that did not run (deferred, failed) is
 * retried at the next tick, so pausing delays work but never drops it. */
export class Scheduler<C extends JobConfig = JobConfig> {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly nextDue = new Map<string, number>();
  private readonly lastOutcome = new Map<string, JobOutcome>();
  private readonly abort = new AbortController();

  constructor(
    private readonly ctx: JobContext<C>,
    private readonly jobs: readonly Job<C>[],
    private readonly options: { logger?: JobLogger; tickMs?: number; firstTickMs?: number } = {},
  ) {}

  /** Starts ticking; the first tick comes shortly after boot so a long downtime is caught up quickly. */
  start(): void {
    this.schedule(this.options.firstTickMs ?? 5_000);
  }

  /** Stops ticking, asks a running job to stop between items, and waits for it. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(ms: number): void {
    if (this.abort.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.tick().finally(() => {
        this.inFlight = undefined;
        this.schedule(this.options.tickMs ?? 60_000);
      });
    }, ms);
    this.timer.unref();
  }

  /** Runs every job that is due; errors are logged, never thrown (a job cannot crash the process). */
  async tick(): Promise<void> {
    for (const job of this.jobs) {
      if (this.abort.signal.aborted) return;
      if (Date.now() < (this.nextDue.get(job.name) ?? 0)) continue;
      try {
        const result = await runJob(this.ctx, job, { signal: this.abort.signal });
        // Busy means another server ran it this round; a failure retries after a pause, not every tick.
        const wait =
          result.outcome === "ok" || result.outcome === "busy"
            ? job.intervalMs
            : result.outcome === "failed"
              ? Math.min(job.intervalMs, 5 * 60_000)
              : 0;
        this.nextDue.set(job.name, Date.now() + wait);
        this.report(result);
      } catch (error) {
        this.options.logger?.error({ job: job.name, err: error }, "scheduled job crashed the runner");
      }
    }
  }

  private report(result: JobRunResult): void {
    const log = this.options.logger;
    const fields = { job: result.job, runId: result.runId, outcome: result.outcome, ...result.summary };
    if (result.outcome === "failed") log?.error({ ...fields, reason: result.reason }, "scheduled job failed");
    else if (result.outcome !== this.lastOutcome.get(result.job) || (result.summary?.changed ?? 0) > 0)
      log?.info({ ...fields, reason: result.reason }, `scheduled job ${result.outcome}`);
    this.lastOutcome.set(result.job, result.outcome);
  }
}
