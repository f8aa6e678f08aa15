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
import { opsInvariantChecks } from "../domains/ops/ops.invariants.ts";
import { pagesInvariantChecks } from "../domains/pages/pages.invariants.ts";

/** Every check of every domain, in the order they run. A new domain adds its checks here, as it adds
 * its routes to src/app/server.ts and its jobs to src/app/jobs.ts. */
export function allInvariantChecks(): InvariantCheck[] {
  return [
    ...identityInvariantChecks,
    ...membersInvariantChecks,
    ...eventsInvariantChecks,
    ...opsInvariantChecks,
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
