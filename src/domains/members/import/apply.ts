import { randomUUID } from "node:crypto";
import { type ActionEnv, runAction } from "../../../core/action.ts";
import { ClubError, forbidden, isDatabaseDown } from "../../../core/errors.ts";
import { importMemberRow, recordImportApplied } from "./import.actions.ts";
import {
  type AppliedRow,
  claimImport,
  confirmRefusal,
  type ImportResult,
  importDetailsRemoved,
  importExpired,
  loadImport,
  recordRowProblem,
  recordRowsDone,
  type StoredImport,
  takeOverImport,
} from "./import.repository.ts";
import type { PlannedRow } from "./plan.ts";
import { startApplying, stopApplying } from "./progress.ts";

/** Rows per batch; progress is reported after each. */
export const APPLY_BATCH = 100;

/** Called after each batch with how many rows are done. */
export type ImportProgress = (done: number, total: number, counts: ImportResult["counts"]) => void;

/** A confirm or resume that was accepted: either the stored result of an import already applied, or the
 * claimed import, whose remaining rows run() applies. */
export type ApplyStart =
  | { replayed: true; result: ImportResult }
  | { replayed: false; run(onProgress?: ImportProgress): Promise<ImportResult> };

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
  env: ActionEnv;
  stored: StoredImport;
  applier: string;
}

async function applyRow(claim: Claim, index: number, row: PlannedRow): Promise<AppliedRow> {
  const { env, stored, applier } = claim;
  const base = { line: row.line, email: row.email };
  if (row.outcome === "unchanged") return { ...base, outcome: "unchanged" };
  let problem: AppliedRow;
  try {
    await runAction(env, importMemberRow, { importId: stored.id, applier, index, row });
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
  await recordRowProblem(env.database, stored.id, applier, index, problem);
  return problem;
}

// `result` holds the rows already done (none for a confirm, those before the recorded point for a
// resume); the loop goes on from there and adds to it.
async function applyRows(claim: Claim, result: ImportResult, onProgress?: ImportProgress) {
  const rows = claim.stored.plan.rows;
  for (let i = result.rows.length; i < rows.length; i++) {
    const applied = await applyRow(claim, i, rows[i]!);
    result.counts[applied.outcome]++;
    result.rows.push(applied);
    // The embedded database runs on this thread and its queries resolve without giving way to
    // network I/O, so a long import would otherwise hold every other request until it ends.
    await new Promise((resolve) => setImmediate(resolve));
    if ((i + 1) % APPLY_BATCH === 0 || i + 1 === rows.length) {
      await recordRowsDone(claim.env.database, claim.stored.id, claim.applier, i + 1);
      onProgress?.(i + 1, rows.length, result.counts);
    }
  }
  return result;
}

// Applies what is left, then writes the summary entry; this process counts as the import's applier until
// it ends, and remembers why it stopped if it did.
function runner(claim: Claim, from: ImportResult): ApplyStart {
  const { env, stored, applier } = claim;
  return {
    replayed: false,
    async run(onProgress) {
      try {
        const result = await applyRows(claim, from, onProgress);
        await runAction(env, recordImportApplied, {
          importId: stored.id,
          applier,
          fileHash: stored.plan.fileHash,
          fileName: stored.plan.fileName,
          result,
        });
        stopApplying(stored.id, applier);
        return result;
      } catch (error) {
        stopApplying(stored.id, applier, error instanceof Error ? error.message : String(error));
        throw error;
      }
    },
  };
}

/** Checks a confirm and claims the import for this process (W-3: one confirm wins; an applied import
 * replays its result and writes nothing). */
export async function beginConfirm(
  env: ActionEnv,
  importId: string,
  fileHash: string | undefined,
): Promise<ApplyStart> {
  const stored = await loadImport(env.database.db, importId, env.actor);
  const refusal = confirmRefusal(stored, fileHash);
  if (refusal) throw refusal;
  if (stored.status === "applied") return { replayed: true, result: stored.result! };
  if (!env.actor.capabilities.has("members:write")) throw forbidden("members:write");
  const applier = randomUUID();
  const mine = startApplying(importId, applier);
  const claimed =
    mine && (await claimImport(env.database, importId, applier).catch(stopOn(importId, applier)));
  if (!claimed) {
    stopApplying(importId, applier);
    // Another confirm won, or the plan expired between the two reads.
    const again = await loadImport(env.database.db, importId, env.actor);
    if (again.status === "applied") return { replayed: true, result: again.result! };
    throw again.status === "planned" ? importExpired() : confirmRefusal(again, fileHash)!;
  }
  return runner({ env, stored, applier }, resultSoFar(stored.plan.rows, 0, []));
}

/** Checks a resume and takes the import over: for an import left 'applying' with no applier in this
 * process (a restart or an error cut it off). The rows already done are not applied again. */
export async function beginResume(env: ActionEnv, importId: string): Promise<ApplyStart> {
  const stored = await loadImport(env.database.db, importId, env.actor);
  if (stored.status === "applied") return { replayed: true, result: stored.result! };
  if (stored.status === "expired") throw importDetailsRemoved();
  if (stored.status === "planned") throw notStarted();
  if (!env.actor.capabilities.has("members:write")) throw forbidden("members:write");
  const applier = randomUUID();
  if (!startApplying(importId, applier)) throw stillApplying();
  const at = await takeOverImport(env.database, importId, applier).catch(stopOn(importId, applier));
  if (!at) {
    // It was applied or expired meanwhile.
    stopApplying(importId, applier);
    const again = await loadImport(env.database.db, importId, env.actor);
    if (again.status === "applied") return { replayed: true, result: again.result! };
    throw importDetailsRemoved();
  }
  return runner({ env, stored, applier }, resultSoFar(stored.plan.rows, at.rowsDone, at.rowProblems));
}

// Releases this process's mark when claiming failed, then passes the error on.
const stopOn = (importId: string, applier: string) => (error: unknown) => {
  stopApplying(importId, applier);
  throw error;
};

/** Confirms a dry run: applies exactly its planned rows, each as its own audited action, then writes the
 * summary entry. Confirming an applied import again replays its result and writes nothing (W-3). */
export async function confirmImport(
  env: ActionEnv,
  importId: string,
  fileHash: string | undefined,
  onProgress?: ImportProgress,
): Promise<{ importId: string; result: ImportResult; replayed: boolean }> {
  const start = await beginConfirm(env, importId, fileHash);
  if (start.replayed) return { importId, result: start.result, replayed: true };
  return { importId, result: await start.run(onProgress), replayed: false };
}

/** Resumes an interrupted import: applies the rows not yet done, then records the whole result. */
export async function resumeImport(
  env: ActionEnv,
  importId: string,
  onProgress?: ImportProgress,
): Promise<{ importId: string; result: ImportResult; replayed: boolean }> {
  const start = await beginResume(env, importId);
  if (start.replayed) return { importId, result: start.result, replayed: true };
  return { importId, result: await start.run(onProgress), replayed: false };
}

const notStarted = () =>
  new ClubError(
    "import_not_started",
    "This import has not been confirmed yet, so there is nothing to resume. Confirm it from its page.",
    409,
  );

const stillApplying = () =>
  new ClubError(
    "import_in_progress",
    "This import is still being applied. Its page shows how far it got; wait for it to finish.",
    409,
  );
