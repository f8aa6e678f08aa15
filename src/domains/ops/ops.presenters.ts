import type { SystemState } from "../../core/modes.ts";
import type { DeployInfo } from "../../http/context.ts";
import { iso } from "../../http/present.ts";
import type { SystemStateOut, VersionOut } from "./ops.schemas.ts";

/** The mode and switches for the API; "unreadable" alone when the state cannot be read. */
export function presentSystemState(state: SystemState | null): SystemStateOut {
  if (!state) return { mode: "unreadable" };
  return {
    mode: state.mode,
    publishFreeze: state.publishFreeze,
    adminFreeze: state.adminFreeze,
    previewOff: state.previewOff,
    reason: state.reason,
    changedBy: state.changedBy,
    changedAt: iso(state.changedAt),
    version: state.version,
  };
}

/** The running version and its deploy record; "unknown" alone when none was recorded. */
export function presentVersion(deploy: DeployInfo | null): VersionOut {
  if (!deploy) return { version: "unknown" };
  return {
    version: deploy.version,
    gitCommit: deploy.gitCommit,
    changeClass: deploy.changeClass,
    startedAt: iso(deploy.startedAt),
    host: deploy.host,
    deployId: deploy.id,
  };
}
