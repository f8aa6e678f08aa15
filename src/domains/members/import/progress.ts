/* Which imports this process is applying right now, and why one stopped. How far an import got is in
 * the database (member_imports.rows_done), so it survives a restart; what only this process can know is
 * whether an applier is still alive here. An import 'applying' in the database with no applier here was
 * cut off (a restart, or an error), and its page offers to resume it. */

const live = new Map<string, string>(); // import id -> the applier (run id) applying it here
const stopped = new Map<string, string>();

/** True while this process is applying the import. */
export function isApplyingHere(importId: string): boolean {
  return live.has(importId);
}

/** Marks the import as applied here by `applier`; false if it already is, so two runs never start here. */
export function startApplying(importId: string, applier: string): boolean {
  if (live.has(importId)) return false;
  live.set(importId, applier);
  stopped.delete(importId);
  return true;
}

/** Marks the applier as gone: finished, or stopped by the error given. An applier that was taken over
 * leaves its successor's mark alone. */
export function stopApplying(importId: string, applier: string, error?: string): void {
  if (live.get(importId) !== applier) return;
  live.delete(importId);
  if (error) stopped.set(importId, error);
  else stopped.delete(importId);
}

/** Why this process's applier of the import stopped, if it did and the process still remembers. */
export function stopReason(importId: string): string | undefined {
  return stopped.get(importId);
}

/** Forgets everything, as a restart does; tests use it to simulate one. */
export function forgetAppliers(): void {
  live.clear();
  stopped.clear();
}
