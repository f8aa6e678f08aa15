/** Progress of imports being applied by this process, for the page an admin watches (a large
 * import runs after the confirm request has answered). Lost on restart: the page then says the
 * import stopped, and the rows already applied keep their audit entries. */
export interface ApplyProgress {
  done: number;
  total: number;
  error?: string;
}

const running = new Map<string, ApplyProgress>();

/** Progress of an import this process is applying, if any. */
export function applyProgress(importId: string): ApplyProgress | undefined {
  return running.get(importId);
}

/** Records progress; `finished` forgets it. */
export function setApplyProgress(importId: string, progress: ApplyProgress | "finished"): void {
  if (progress === "finished") running.delete(importId);
  else running.set(importId, progress);
}
