import { randomUUID } from "node:crypto";
import { type ActionEnv, runAction } from "../../../core/action.ts";
import type { Database } from "../../../core/db/connect.ts";
import { ClubError, isDatabaseDown } from "../../../core/errors.ts";
import { applyMemberImport, type ImportStep, type StepOutcome } from "./import.actions.ts";
import { importBeingApplied, importStillApplying } from "./import.errors.ts";
import {
  type AppliedRow,
  type ImportResult,
  recordRowProblem,
  recordRowsDone,
  type StoredImport,
} from "./import.repository.ts";
import type { PlannedRow } from "./plan.ts";
import { startApplying, stopApplying } from "./progress.ts";

/** Rows per batch; progress is reported after each. */
export const APPLY_BATCH = 100;

/** Called after each batch with how many rows are done. */
export type ImportProgress = (done: number, total: number, counts: ImportResult["counts"]) => void;

/** Who applies an import, and with what: `step` runs applyMemberImport as them (a route passes its bound
 * action, the CLI an action environment), `database` takes the progress, which is not audited. */
export interface ImportApplier {
  database: Database;
  step(input: ImportStep): Promise<StepOutcome>;
}

/** The applier for an action environment (the CLI, tests). */
export function applierFor(env: ActionEnv): ImportApplier {
  return { database: env.database, step: (input) => runAction(env, applyMemberImport, input) };
}

/** A confirm or resume that was accepted: either the stored result of an import already applied, or the
 * claimed import, whose remaining rows run() applies. */
export type ApplyStart =
  | { replayed: true; result: ImportResult }
  | { replayed: false; rows: number; run(onProgress?: ImportProgress): Promise<ImportResult> };

// Errors that would refuse every following row too: the import stops there instead of failing each.
const STOPPING = new Set([
  "read_only",
  "frozen",
  "state_unavailable",
  "forbidden",
  "unauthenticated",
  "import_superseded",
]);

const DONE: Record<PlannedRow["outcome"], AppliedRow["outcome"]> = {
  create: "created",
  update: "updated",
  unchanged: "unchanged",
  reject: "failed", // never applied: a plan with rejected rows cannot be confirmed
};

/** Where an interrupted import stands: the rows before `done` as they ended, from the plan and the
 * problems recorded (a row done without a problem was applied as planned). */
function resultSoFar(rows: PlannedRow[], done: number, problems: AppliedRow[]): ImportResult {
  const byLine = new Map(problems.map((p) => [p.line, p]));
  const result: ImportResult = {
    counts: { created: 0, updated: 0, unchanged: 0, conflict: 0, failed: 0 },
    rows: [],
  };
  for (const row of rows.slice(0, done)) {
    const applied = byLine.get(row.line) ?? { line: row.line, email: row.email, outcome: DONE[row.outcome] };
    result.counts[applied.outcome]++;
    result.rows.push(applied);
  }
  return result;
}

interface Claim {
  applier: ImportApplier;
  stored: StoredImport;
  runId: string;
}

async function applyRow(claim: Claim, index: number, row: PlannedRow): Promise<AppliedRow> {
  const { applier, stored, runId } = claim;
  const base = { line: row.line, email: row.email };
  if (row.outcome === "unchanged") return { ...base, outcome: "unchanged" };
  let problem: AppliedRow;
  try {
    await applier.step({ step: "row", importId: stored.id, applier: runId, index, row });
    return { ...base, outcome: row.outcome === "create" ? "created" : "updated" };
  } catch (error) {
    if (error instanceof ClubError && STOPPING.has(error.code)) throw error;
    if (!(error instanceof ClubError) && isDatabaseDown(error)) throw error;
    // The row's transaction rolled back as a whole (W-2): report it and go on with the next.
    if (error instanceof ClubError && (error.status === 409 || error.status === 404))
      problem = { ...base, outcome: "conflict", message: error.message };
    else {
      const message =
        error instanceof ClubError
          ? error.message
          : "This row could not be saved; nothing of it was written.";
      problem = { ...base, outcome: "failed", message };
    }
  }
  const at = { id: stored.id, applier: runId, index };
  await recordRowProblem(applier.database, applyMemberImport.effect, at, problem);
  return problem;
}

// `result` holds the rows already done (none for a confirm, those before the recorded point for a
// resume); the loop goes on from there and adds to it.
async function applyRows(claim: Claim, result: ImportResult, onProgress?: ImportProgress) {
  const rows = claim.stored.plan.rows;
  const at = { id: claim.stored.id, applier: claim.runId };
  for (let i = result.rows.length; i < rows.length; i++) {
    const applied = await applyRow(claim, i, rows[i]!);
    result.counts[applied.outcome]++;
    result.rows.push(applied);
    // The embedded database runs on this thread and its queries resolve without giving way to
    // network I/O, so a long import would otherwise hold every other request until it ends.
    await new Promise((resolve) => setImmediate(resolve));
    if ((i + 1) % APPLY_BATCH === 0 || i + 1 === rows.length) {
      await recordRowsDone(claim.applier.database, applyMemberImport.effect, at, i + 1);
      onProgress?.(i + 1, rows.length, result.counts);
    }
  }
  return result;
}

// Applies what is left, then records the result; this process counts as the import's applier until it
// ends, and remembers why it stopped if it did.
function runner(claim: Claim, from: ImportResult): ApplyStart {
  const { applier, stored, runId } = claim;
  return {
    replayed: false,
    rows: stored.plan.rows.length,
    async run(onProgress) {
      try {
        const result = await applyRows(claim, from, onProgress);
        await applier.step({ step: "finish", importId: stored.id, applier: runId, result });
        stopApplying(stored.id, runId);
        return result;
      } catch (error) {
        stopApplying(stored.id, runId, error instanceof Error ? error.message : String(error));
        throw error;
      }
    },
  };
}

// Runs the claiming step with this process marked as the import's applier; the mark is released if the
// step does not claim it.
async function claim(
  applier: ImportApplier,
  input: Extract<ImportStep, { step: "confirm" | "resume" }>,
): Promise<ApplyStart> {
  let outcome: StepOutcome;
  try {
    outcome = await applier.step(input);
  } catch (error) {
    stopApplying(input.importId, input.applier);
    throw error;
  }
  if (outcome.kind !== "claimed") {
    stopApplying(input.importId, input.applier);
    if (outcome.kind === "replayed") return { replayed: true, result: outcome.result };
    throw new Error(`applyMemberImport ${input.step} answered ${outcome.kind}.`);
  }
  const { stored, rowsDone, rowProblems } = outcome;
  return runner(
    { applier, stored, runId: input.applier },
    resultSoFar(stored.plan.rows, rowsDone, rowProblems),
  );
}

/** Checks a confirm and claims the import for this process (W-3: one confirm wins; an applied import
 * replays its result and writes nothing). */
export function beginConfirm(
  applier: ImportApplier,
  importId: string,
  fileHash: string | undefined,
): Promise<ApplyStart> {
  const runId = randomUUID();
  if (!startApplying(importId, runId)) return Promise.reject(importBeingApplied());
  return claim(applier, { step: "confirm", importId, applier: runId, fileHash });
}

/** Checks a resume and takes the import over: for an import left 'applying' with no applier in this
 * process (a restart or an error cut it off). The rows already done are not applied again. */
export function beginResume(applier: ImportApplier, importId: string): Promise<ApplyStart> {
  const runId = randomUUID();
  if (!startApplying(importId, runId)) return Promise.reject(importStillApplying());
  return claim(applier, { step: "resume", importId, applier: runId });
}

async function finished(start: ApplyStart, importId: string, onProgress?: ImportProgress) {
  if (start.replayed) return { importId, result: start.result, replayed: true };
  return { importId, result: await start.run(onProgress), replayed: false };
}

/** Confirms a dry run: applies exactly its planned rows, each as its own audited step, then records the
 * result. Confirming an applied import again replays its result and writes nothing (W-3). */
export async function confirmImport(
  applier: ImportApplier,
  importId: string,
  fileHash: string | undefined,
  onProgress?: ImportProgress,
): Promise<{ importId: string; result: ImportResult; replayed: boolean }> {
  return finished(await beginConfirm(applier, importId, fileHash), importId, onProgress);
}

/** Resumes an interrupted import: applies the rows not yet done, then records the whole result. */
export async function resumeImport(
  applier: ImportApplier,
  importId: string,
  onProgress?: ImportProgress,
): Promise<{ importId: string; result: ImportResult; replayed: boolean }> {
  return finished(await beginResume(applier, importId), importId, onProgress);
}
