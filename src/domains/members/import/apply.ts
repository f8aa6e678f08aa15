import { type ActionEnv, runAction } from "../../../core/action.ts";
import { ClubError, forbidden } from "../../../core/errors.ts";
import { isDatabaseDown } from "../../../http/error-handler.tsx";
import { importMemberRow, recordImportApplied } from "./import.actions.ts";
import {
  type AppliedRow,
  claimImport,
  confirmRefusal,
  type ImportResult,
  importExpired,
  loadImport,
  type StoredImport,
} from "./import.repository.ts";
import type { PlannedRow } from "./plan.ts";

/** Rows per batch; progress is reported after each. */
export const APPLY_BATCH = 100;

/** Called after each batch with how many rows are done. */
export type ImportProgress = (done: number, total: number, counts: ImportResult["counts"]) => void;

// Errors that would refuse every following row too: the import stops there instead of failing each.
const STOPPING = new Set(["read_only", "frozen", "state_unavailable", "forbidden", "unauthenticated"]);

async function applyRow(env: ActionEnv, importId: string, row: PlannedRow): Promise<AppliedRow> {
  const base = { line: row.line, email: row.email };
  if (row.outcome === "unchanged") return { ...base, outcome: "unchanged" };
  try {
    await runAction(env, importMemberRow, { importId, row });
    return { ...base, outcome: row.outcome === "create" ? "created" : "updated" };
  } catch (error) {
    if (error instanceof ClubError && STOPPING.has(error.code)) throw error;
    if (!(error instanceof ClubError) && isDatabaseDown(error)) throw error;
    // The row's transaction rolled back as a whole (W-2): report it and go on with the next.
    if (error instanceof ClubError && (error.status === 409 || error.status === 404))
      return { ...base, outcome: "conflict", message: error.message };
    const message =
      error instanceof ClubError ? error.message : "This row could not be saved; nothing of it was written.";
    return { ...base, outcome: "failed", message };
  }
}

async function applyRows(env: ActionEnv, stored: StoredImport, onProgress?: ImportProgress) {
  const rows = stored.plan.rows;
  const result: ImportResult = {
    counts: { created: 0, updated: 0, unchanged: 0, conflict: 0, failed: 0 },
    rows: [],
  };
  for (let i = 0; i < rows.length; i += APPLY_BATCH) {
    for (const row of rows.slice(i, i + APPLY_BATCH)) {
      const applied = await applyRow(env, stored.id, row);
      result.counts[applied.outcome]++;
      result.rows.push(applied);
      // The embedded database runs on this thread and its queries resolve without giving way to
      // network I/O, so a long import would otherwise hold every other request until it ends.
      await new Promise((resolve) => setImmediate(resolve));
    }
    onProgress?.(Math.min(i + APPLY_BATCH, rows.length), rows.length, result.counts);
  }
  return result;
}

/** Confirms a dry run: applies exactly its planned rows, each as its own audited action, then writes the
 * summary entry. Confirming an applied import again replays its result and writes nothing (W-3). */
export async function confirmImport(
  env: ActionEnv,
  importId: string,
  fileHash: string | undefined,
  onProgress?: ImportProgress,
): Promise<{ importId: string; result: ImportResult; replayed: boolean }> {
  const stored = await loadImport(env.database.db, importId, env.actor);
  const refusal = confirmRefusal(stored, fileHash);
  if (refusal) throw refusal;
  if (stored.status === "applied") return { importId, result: stored.result!, replayed: true };
  if (!env.actor.capabilities.has("members:write")) throw forbidden("members:write");
  if (!(await claimImport(env.database, importId))) {
    // Another confirm won, or the plan expired between the two reads.
    const again = await loadImport(env.database.db, importId, env.actor);
    if (again.status === "applied") return { importId, result: again.result!, replayed: true };
    throw again.status === "planned" ? importExpired() : confirmRefusal(again, fileHash)!;
  }
  const result = await applyRows(env, stored, onProgress);
  await runAction(env, recordImportApplied, {
    importId,
    fileHash: stored.plan.fileHash,
    fileName: stored.plan.fileName,
    result,
  });
  return { importId, result, replayed: false };
}
