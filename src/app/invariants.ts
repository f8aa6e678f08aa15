import type { Database } from "../core/db/connect.ts";
import {
  type CheckResult,
  type InvariantCheck,
  type InvariantReport,
  runChecks,
} from "../core/invariants.ts";
import { eventsInvariantChecks } from "../domains/events/events.invariants.ts";
import { accountLinkInvariantChecks } from "../domains/identity/account-links.invariants.ts";
import { identityInvariantChecks } from "../domains/identity/identity.invariants.ts";
import { membersInvariantChecks } from "../domains/members/members.invariants.ts";
import { type ChainScope, opsInvariantChecks } from "../domains/ops/ops.invariants.ts";
import { pagesInvariantChecks } from "../domains/pages/pages.invariants.ts";

/** Every check of every domain, in the order they run. A new domain adds its checks here, as it adds
 * its routes to src/app/server.ts and its jobs to src/app/jobs.ts. The scheduled scan asks for the
 * audit chain's "scheduled" scope (re-hash only what was sealed after the last verified checkpoint,
 * the whole chain once a day); everything else (on demand, backups, drills) checks all of it. */
export function allInvariantChecks(options: { chain?: ChainScope } = {}): InvariantCheck[] {
  return [
    ...identityInvariantChecks,
    ...membersInvariantChecks,
    ...eventsInvariantChecks,
    ...opsInvariantChecks(options.chain ?? "full"),
    ...accountLinkInvariantChecks,
    ...pagesInvariantChecks,
  ];
}

/** Runs every domain's checks (or the given ones) and records the run (INV-10). */
export function runInvariantChecks(
  database: Database,
  actor: string,
  options: {
    checks?: InvariantCheck[];
    onProgress?: (done: number, total: number, check: CheckResult) => void;
  } = {},
): Promise<InvariantReport> {
  return runChecks(database, actor, options.checks ?? allInvariantChecks(), options);
}
