import { iso, isoOrNull } from "../../../http/present.ts";
import type { ImportResult, StoredImport } from "./import.repository.ts";
import type { ImportOut, PlannedRowOut, PlanOut, ValuesOut } from "./import.schemas.ts";
import type { ColumnValues, ImportColumn, ImportPlan, PlannedRow } from "./plan.ts";

/* What the import API and pages show of a stored import: camelCase, ISO 8601 times, and no internal
 * columns (the member versions the plan was made against, who holds it while applying). */

const FIELD: Record<ImportColumn, keyof ValuesOut> = {
  name: "name",
  status: "status",
  phone: "phone",
  address: "address",
  tier_key: "tierKey",
  joined_on: "joinedOn",
  renewal_due_on: "renewalDueOn",
};

function presentValues(values: ColumnValues | undefined): ValuesOut | undefined {
  if (!values) return undefined;
  const out: ValuesOut = {};
  for (const [column, value] of Object.entries(values) as [ImportColumn, string][])
    out[FIELD[column]] = value;
  return out;
}

/** One planned row. */
export function presentPlannedRow(row: PlannedRow): PlannedRowOut {
  return {
    line: row.line,
    outcome: row.outcome,
    email: row.email,
    name: row.name,
    memberId: row.memberId,
    changes: presentValues(row.changes),
    before: presentValues(row.before),
    reason: row.reason,
  };
}

function presentPlan(importId: string, plan: ImportPlan) {
  return {
    importId,
    fileName: plan.fileName,
    fileHash: plan.fileHash,
    ignoredColumns: plan.ignoredColumns,
    counts: plan.counts,
    rows: plan.rows.map(presentPlannedRow),
  };
}

/** A dry run just stored. */
export function presentNewPlan(importId: string, plan: ImportPlan): PlanOut {
  return { ...presentPlan(importId, plan), status: "planned" };
}

/** A stored import, for the API and the import's page. */
export function presentImport(stored: StoredImport): ImportOut {
  return {
    ...presentPlan(stored.id, stored.plan),
    status: stored.status,
    result: stored.result,
    rowsDone: stored.rowsDone,
    createdAt: iso(stored.createdAt),
    appliedAt: isoOrNull(stored.appliedAt),
    purgedAt: isoOrNull(stored.purgedAt),
  };
}

/** What a confirm or resume answers. */
export function presentApplied(outcome: { importId: string; result: ImportResult; replayed: boolean }) {
  return {
    importId: outcome.importId,
    status: "applied" as const,
    replayed: outcome.replayed,
    result: outcome.result,
  };
}
