import { bulkhead } from "cockatiel";
import { type RawBuilder, sql } from "kysely";
import type { Database } from "./db/connect.ts";

/** Where a check's queries run: the database itself, or a read-only snapshot of it (a backup's). */
export type CheckReader = Pick<Database, "db">;

/* The invariant scanner (INV-10). The database refuses most bad states by itself (foreign keys,
 * CHECKs, triggers); the scanner finds the ones that got in anyway: a superuser with triggers off,
 * a restore of a damaged dump, a bug in a repair script. Each check is one set-based query (a big one
 * cut into parts, CheckPlan), so a scan costs a handful of statements however big the club is; the
 * runner keeps SCAN_CONNECTIONS of them running at a time. Violations are SEV-1 and are never
 * repaired here: the scanner only reports and records. */

/** One row that breaks an invariant: what it is, which one, and what is wrong with it. */
export interface Violation {
  subject_type: string;
  subject_id: string;
  detail: string;
}

/** One invariant, checked by one query that returns the rows breaking it (none when it holds). */
export interface InvariantCheck {
  /** Stable id, `<domain>.<what>`, e.g. "identity.timestamps". */
  id: string;
  /** The rule it checks, e.g. "INV-9". */
  rule: string;
  description: string;
  /** Selects subject_type, subject_id and detail (all text) of every violating row. */
  sql: RawBuilder<Violation>;
  /** For a check whose scope depends on what earlier runs verified (the audit chain's checkpoints), or
   * too big for one connection: called just before the check runs, it returns the queries to run
   * instead of sql, a note saying what they covered (kept with the result, so a partial check never
   * passes for a full one), and a statement to run when they found nothing (recording how far it
   * verified). */
  plan?: (reader: CheckReader) => Promise<CheckPlan>;
}

/** What InvariantCheck.plan decided for one run. */
export interface CheckPlan {
  /** The check's query, or the same query split into parts (e.g. ranges of the audit chain) that
   * together return exactly its rows: the runner runs parts at the same time on separate connections,
   * so PostgreSQL can put every core on one big check. */
  parts: RawBuilder<Violation>[];
  note?: string;
  onClean?: RawBuilder<unknown>;
}

/** The outcome of one check in a run. */
export interface CheckResult {
  id: string;
  rule: string;
  description: string;
  violations: number;
  sample: Violation[];
  /** Set when the check itself could not run: the invariant is then not known to hold. */
  error?: string;
  /** What the check covered when it did not cover everything (e.g. "incremental: ..."). */
  note?: string;
  /** Milliseconds from the check's first query to its last one's end (other checks ran beside it). */
  ms: number;
}

/** The outcome of a run, as printed by `clubos invariants check` and kept in invariant_runs. */
export interface InvariantReport {
  ok: boolean;
  runId: string;
  actor: string;
  startedAt: string;
  finishedAt: string;
  checks: CheckResult[];
}

/** How many violating rows a check reports; the count is always exact. */
export const SAMPLE_LIMIT = 100;

/** How many of a scan's queries run at the same time, each on a pool connection of its own. Two let
 * PostgreSQL put both cores of a small server on the scan (bench:scan: the audit chain's ranges beside
 * the other checks) and leave the rest of the server's pool to requests. On PGlite, and inside a
 * caller's transaction, the queries simply queue on the one connection. */
export const SCAN_CONNECTIONS = 2;

/** The one order of a sample, so that the samples of a check's parts merge into the sample the whole
 * query would have given (the order is the database's, collation included). */
const sampleOrder = sql`ORDER BY 1, 2, 3 LIMIT ${SAMPLE_LIMIT}`;

/** Runs a scan's queries SCAN_CONNECTIONS at a time, the rest waiting in the order they asked
 * (cockatiel's bulkhead, with an unbounded queue). */
type Slot = <T>(task: () => Promise<T>) => Promise<T>;
function scanSlots(): Slot {
  const slots = bulkhead(SCAN_CONNECTIONS, Number.POSITIVE_INFINITY);
  return (task) => slots.execute(task);
}

/** One part's violations: the exact count and the first SAMPLE_LIMIT rows. */
async function sampleOf(reader: CheckReader, part: RawBuilder<Violation>) {
  // count(*) OVER () is computed before LIMIT, so one statement gives the exact count and a sample.
  const { rows } = await sql<Violation & { total: number }>`
    SELECT v.subject_type::text AS subject_type, v.subject_id::text AS subject_id,
           v.detail::text AS detail, count(*) OVER () AS total
    FROM (${part}) AS v
    ${sampleOrder}`.execute(reader.db);
  const sample = rows.map(({ subject_type, subject_id, detail }) => ({ subject_type, subject_id, detail }));
  return { violations: Number(rows[0]?.total ?? 0), sample };
}

/** The sample the whole query would have given, from its parts' samples (each already the first rows
 * of its part in sampleOrder), sorted by the database itself. */
async function mergedSample(reader: CheckReader, withRows: Violation[][]): Promise<Violation[]> {
  const { rows } = await sql<Violation>`
    SELECT v.subject_type, v.subject_id, v.detail
    FROM jsonb_to_recordset(${JSON.stringify(withRows.flat())}::jsonb)
         AS v(subject_type text, subject_id text, detail text)
    ${sampleOrder}`.execute(reader.db);
  return rows;
}

async function runCheck(
  database: Database,
  reader: CheckReader,
  check: InvariantCheck,
  slot: Slot,
): Promise<CheckResult> {
  const base: Pick<CheckResult, "id" | "rule" | "description" | "note"> = {
    id: check.id,
    rule: check.rule,
    description: check.description,
  };
  let started: number | undefined;
  const timed = <T>(task: () => Promise<T>) =>
    slot(() => {
      started ??= performance.now();
      return task();
    });
  const ms = () => (started === undefined ? 0 : performance.now() - started);
  try {
    const plan: CheckPlan = check.plan ? await timed(() => check.plan!(reader)) : { parts: [check.sql] };
    if (plan.note) base.note = plan.note;
    // Every part is waited for, failed or not, so a failed check leaves no query of it running.
    const settled = await Promise.allSettled(plan.parts.map((part) => timed(() => sampleOf(reader, part))));
    const outcomes = settled.map((s) => {
      if (s.status === "rejected") throw s.reason;
      return s.value;
    });
    const violations = outcomes.reduce((sum, o) => sum + o.violations, 0);
    // Merging takes a place in the queue only when two or more parts found rows to merge.
    const withRows = outcomes.map((o) => o.sample).filter((rows) => rows.length > 0);
    const sample =
      withRows.length > 1 ? await timed(() => mergedSample(reader, withRows)) : (withRows[0] ?? []);
    if (violations === 0 && plan.onClean) {
      const onClean = plan.onClean;
      await timed(() => onClean.execute(database.db));
    }
    return { ...base, violations, sample, ms: ms() };
  } catch (error) {
    // A check that cannot run proves nothing: it fails the run rather than passing silently.
    return {
      ...base,
      violations: 0,
      sample: [],
      error: error instanceof Error ? error.message : String(error),
      ms: ms(),
    };
  }
}

/** Runs the checks, SCAN_CONNECTIONS queries at a time, and records the run in invariant_runs
 * (INV-10: reviewable). onProgress is called as each check finishes (not always in list order); the
 * report lists the checks in the order given. Opens no transaction of its own, so it also runs inside
 * a caller's transaction (restore checks). actor is the audit-style reference of who asked, e.g.
 * `operator:alice`. The list of every domain's checks is assembled by the app (src/app/invariants.ts):
 * the core knows no domain. With readFrom (a backup's snapshot) the checks read it instead, so the result
 * describes exactly the data backed up and the live database is not held by them; the run and a clean
 * check's record still go to database. */
export async function runChecks(
  database: Database,
  actor: string,
  checks: InvariantCheck[],
  options: {
    onProgress?: (done: number, total: number, check: CheckResult) => void;
    readFrom?: CheckReader;
  } = {},
): Promise<InvariantReport> {
  const startedAt = new Date();
  const slot = scanSlots();
  let done = 0;
  const results = await Promise.all(
    checks.map(async (check) => {
      const result = await runCheck(database, options.readFrom ?? database, check, slot);
      options.onProgress?.(++done, checks.length, result);
      return result;
    }),
  );
  const failed = results.filter((r) => r.violations > 0 || r.error !== undefined);
  const finishedAt = new Date();
  // Written directly, not through an action: a scan changes no club data, and it must be recordable
  // in read-only mode, which is exactly when an operator runs it.
  const row = await database.db
    .insertInto("invariant_runs")
    .values({
      started_at: startedAt,
      finished_at: finishedAt,
      actor,
      ok: failed.length === 0,
      checks: results.length,
      violations: JSON.stringify(failed),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return {
    ok: failed.length === 0,
    runId: row.id,
    actor,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    checks: results,
  };
}
