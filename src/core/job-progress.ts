import { type Kysely, sql } from "kysely";
import type { DB } from "./db/schema.ts";

/* What a job is doing now, kept in job_progress so any process's operator page can show it: the
 * scheduler writes it around every run (runJob), a job's progress lines go into it at most once a
 * second, and a heartbeat keeps a long silent step (a restore in a drill) counted as running. The
 * row is information only: failing to write it never fails the job. */

/** A run not touched for this long is no longer running: its process stopped without finishing it. */
export const STALE_SECONDS = 60;
const HEARTBEAT_MS = 10_000;
const NOTE_MS = 1_000;

/** A job's latest run as pages show it. */
export interface JobProgress {
  job: string;
  runId: string;
  triggeredBy: string;
  startedAt: Date;
  updatedAt: Date;
  step: string;
  finishedAt: Date | null;
  outcome: "ok" | "failed" | null;
  detail: string | null;
  /** Not finished and touched within STALE_SECONDS. */
  running: boolean;
  /** Not finished, but its process stopped writing: it did not complete. */
  interrupted: boolean;
}

/** The latest run of each named job that has one. */
export async function readJobProgress(db: Kysely<DB>, jobs: readonly string[]): Promise<JobProgress[]> {
  if (jobs.length === 0) return [];
  const rows = await db
    .selectFrom("job_progress")
    .selectAll()
    .select(sql<boolean>`updated_at > now() - make_interval(secs => ${STALE_SECONDS})`.as("fresh"))
    .where("job", "in", [...jobs])
    .execute();
  return rows.map((r) => ({
    job: r.job,
    runId: r.run_id,
    triggeredBy: r.triggered_by,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    step: r.step,
    finishedAt: r.finished_at,
    outcome: r.outcome === "ok" || r.outcome === "failed" ? r.outcome : null,
    detail: r.detail,
    running: r.finished_at === null && Boolean(r.fresh),
    interrupted: r.finished_at === null && !r.fresh,
  }));
}

/** Records one run as it goes: started now, its latest line, its end. */
export interface JobRecorder {
  note(step: string): void;
  finish(outcome: "ok" | "failed", detail: string | undefined): Promise<void>;
}

/** Starts the record of a run (replacing the job's previous one) and keeps it current until finish. */
export async function recordJobRun(
  db: Kysely<DB>,
  run: { job: string; runId: string; triggeredBy: string },
): Promise<JobRecorder> {
  await startRecord(db, run, false).catch(() => {});
  return recorderOf(db, run);
}

/** Starts the record of a run unless another run of the job is in progress (unfinished and touched
 * within STALE_SECONDS), in one statement, so that two processes starting the job at once cannot both
 * think they are the only one: null for the one that came second. A failed write throws. */
export async function claimJobRun(
  db: Kysely<DB>,
  run: { job: string; runId: string; triggeredBy: string },
): Promise<JobRecorder | null> {
  return (await startRecord(db, run, true)) ? recorderOf(db, run) : null;
}

async function startRecord(
  db: Kysely<DB>,
  run: { job: string; runId: string; triggeredBy: string },
  exclusive: boolean,
): Promise<boolean> {
  const row = await db
    .insertInto("job_progress")
    .values({ job: run.job, run_id: run.runId, triggered_by: run.triggeredBy, step: "started" })
    .onConflict((oc) => {
      const replace = oc.column("job").doUpdateSet({
        run_id: run.runId,
        triggered_by: run.triggeredBy,
        started_at: sql`now()`,
        updated_at: sql`now()`,
        step: "started",
        finished_at: null,
        outcome: null,
        detail: null,
      });
      return exclusive
        ? replace.where(
            sql<boolean>`job_progress.finished_at IS NOT NULL
              OR job_progress.updated_at <= now() - make_interval(secs => ${STALE_SECONDS})`,
          )
        : replace;
    })
    .returning("run_id")
    .executeTakeFirst();
  return row !== undefined;
}

function recorderOf(db: Kysely<DB>, run: { runId: string }): JobRecorder {
  const quietly = (write: () => Promise<unknown>) => write().catch(() => {});
  let latest: string | null = null;
  let written = Date.now();
  // Writes one after another, so an older line never lands after a newer one.
  let chain: Promise<unknown> = Promise.resolve();
  const write = () => {
    const step = latest;
    latest = null;
    written = Date.now();
    chain = chain.then(() =>
      quietly(() =>
        db
          .updateTable("job_progress")
          .set({ updated_at: sql`now()`, ...(step === null ? {} : { step: step.slice(0, 1000) }) })
          .where("run_id", "=", run.runId)
          .execute(),
      ),
    );
  };
  const timer = setInterval(() => {
    if (latest !== null || Date.now() - written >= HEARTBEAT_MS) write();
  }, NOTE_MS);
  timer.unref();
  return {
    note(step) {
      latest = step;
    },
    async finish(outcome, detail) {
      clearInterval(timer);
      if (latest !== null) write();
      await chain;
      await quietly(() =>
        db
          .updateTable("job_progress")
          .set({
            updated_at: sql`now()`,
            finished_at: sql`now()`,
            outcome,
            detail: detail?.slice(0, 2000) ?? null,
          })
          .where("run_id", "=", run.runId)
          .execute(),
      );
    },
  };
}
