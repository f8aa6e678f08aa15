import { type RawBuilder, sql } from "kysely";
import type { Database } from "./db/connect.ts";

/** Where a check's queries run: the database itself, or a read-only snapshot of it (a backup's). */
export type CheckReader = Pick<Database, "db">;

/* The invariant scanner (INV-10). The database refuses most bad states by itself (foreign keys,
 * CHECKs, triggers); the scanner finds the ones that got in anyway: a superuser with triggers off,
 * a restore of a damaged dump, a bug in a repair script. Each check is one set-based query, so a
 * scan costs a handful of statements however big the club is. Violations are SEV-1 and are never
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
  /** For a check whose scope depends on what earlier runs verified (the audit chain's checkpoints):
   * called just before the check runs, it returns the query to run instead of sql, a note saying what
   * that query covered (kept with the result, so a partial check never passes for a full one), and a
   * statement to run when the query found nothing (recording how far it verified). */
  plan?: (reader: CheckReader) => Promise<CheckPlan>;
}

/** What InvariantCheck.plan decided for one run. */
export interface CheckPlan {
  sql: RawBuilder<Violation>;
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

async function runCheck(
  database: Database,
  reader: CheckReader,
  check: InvariantCheck,
): Promise<CheckResult> {
  const base: Pick<CheckResult, "id" | "rule" | "description" | "note"> = {
    id: check.id,
    rule: check.rule,
    description: check.description,
  };
  try {
    const plan: CheckPlan = check.plan ? await check.plan(reader) : { sql: check.sql };
    if (plan.note) base.note = plan.note;
    // count(*) OVER () is computed before LIMIT, so one statement gives the exact count and a sample.
    const { rows } = await sql<Violation & { total: number }>`
      SELECT count(*) OVER () AS total, v.subject_type::text AS subject_type,
             v.subject_id::text AS subject_id, v.detail::text AS detail
      FROM (${plan.sql}) AS v
      ORDER BY 2, 3, 4
      LIMIT ${SAMPLE_LIMIT}`.execute(reader.db);
    const sample = rows.map(({ subject_type, subject_id, detail }) => ({ subject_type, subject_id, detail }));
    const violations = Number(rows[0]?.total ?? 0);
    if (violations === 0 && plan.onClean) await plan.onClean.execute(database.db);
    return { ...base, violations, sample };
  } catch (error) {
    // A check that cannot run proves nothing: it fails the run rather than passing silently.
    return {
      ...base,
      violations: 0,
      sample: [],
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Runs the checks, one query each, and records the run in invariant_runs (INV-10: reviewable).
 * Opens no transaction of its own, so it also runs inside a caller's transaction (restore checks).
 * actor is the audit-style reference of who asked, e.g. `operator:alice`. The list of every domain's
 * checks is assembled by the app (src/app/invariants.ts): the core knows no domain. With readFrom (a
 * backup's snapshot) the checks read it instead, so the result describes exactly the data backed up and
 * the live database is not held by them; the run and a clean check's record still go to database. */
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
  const results: CheckResult[] = [];
  for (const check of checks) {
    const result = await runCheck(database, options.readFrom ?? database, check);
    results.push(result);
    options.onProgress?.(results.length, checks.length, result);
  }
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
