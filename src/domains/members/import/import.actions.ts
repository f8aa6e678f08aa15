import { type ActionOutcome, type ActionScope, defineAction, runNested } from "../../../core/action.ts";
import type { AuditDraft } from "../../../core/audit.ts";
import { type ClubError, conflict, invalidInput, notFound } from "../../../core/errors.ts";
import { createMemberRecord } from "../member-create.actions.ts";
import { changeMemberStatus, type MemberChanges, updateMember } from "../members.actions.ts";
import {
  importBeingApplied,
  importDetailsRemoved,
  importExpired,
  importHasRejections,
  importNotStarted,
  importPlanMismatch,
} from "./import.errors.ts";
import { MADE_THE_IMPORT } from "./import.policies.ts";
import {
  type AppliedRow,
  claimImport,
  type ImportResult,
  insertPlan,
  lockImport,
  lockImportState,
  lockMemberVersion,
  markImportApplied,
  markRowDone,
  PLAN_TTL_MS,
  purgeImportsBefore,
  type StoredImport,
  setImportedFields,
  takeOverImport,
} from "./import.repository.ts";
import type { ImportPlan, PlannedRow } from "./plan.ts";

/* The member import's actions. A dry run is stored by planMemberImport; applying it is a sequence of
 * applyMemberImport steps, each its own transaction with its own audit entry (W-2): the confirm (or a
 * resume) claims the import, every planned row is applied, and the last step records the result. Who
 * may is decided here once: members:write, and only on an import one made (MADE_THE_IMPORT), checked
 * in each step's transaction. */

/** Stores a dry run for its author (it changes no member); returns the import's id. Admin effect: read-only
 * mode and the admin freeze refuse it, as they would refuse applying it. */
export const planMemberImport = defineAction({
  name: "planMemberImport",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx, actor }, input: { plan: ImportPlan }) {
    const { plan } = input;
    const importId = await insertPlan(trx, actor, plan);
    return {
      result: { importId },
      audit: {
        action: "member_import.planned",
        subjectType: "member_import",
        subjectId: importId,
        // What the file was and what it would do; its rows (personal data) stay with the import only.
        after: { fileName: plan.fileName, fileHash: plan.fileHash, counts: plan.counts },
      },
    };
  },
});

/** One step of applying a dry run. `applier` names the run doing it: only the run holding the import
 * moves it, so a run that was taken over stops instead of applying a row twice. */
export type ImportStep =
  | { step: "confirm"; importId: string; applier: string; fileHash: string | undefined }
  | { step: "resume"; importId: string; applier: string }
  | { step: "row"; importId: string; applier: string; index: number; row: PlannedRow }
  | { step: "finish"; importId: string; applier: string; result: ImportResult };

/** What a step did: replayed an import already applied, claimed it (where it stands), or its part. */
export type StepOutcome =
  | { kind: "replayed"; result: ImportResult }
  | { kind: "claimed"; stored: StoredImport; rowsDone: number; rowProblems: AppliedRow[] }
  | { kind: "done" };

/** Why a stored import cannot be confirmed (any more), or nothing when it can. */
export function confirmRefusal(stored: StoredImport, fileHash: string | undefined): ClubError | undefined {
  if (stored.status === "expired") return importDetailsRemoved();
  if (fileHash !== stored.plan.fileHash) return importPlanMismatch();
  if (stored.status === "applying") return importBeingApplied();
  if (stored.status !== "planned") return undefined; // applied: the confirm replays the result
  if (stored.plan.counts.reject > 0)
    return importHasRejections(stored.plan.rows.filter((r) => r.outcome === "reject").map((r) => r.line));
  if (Date.now() - stored.createdAt.getTime() > PLAN_TTL_MS) return importExpired();
  return undefined;
}

type Step<K extends ImportStep["step"]> = Extract<ImportStep, { step: K }>;
type Outcome = ActionOutcome<StepOutcome>;

const importEntry = (action: string, importId: string, after: Record<string, unknown>): AuditDraft => ({
  action,
  subjectType: "member_import",
  subjectId: importId,
  after,
});

async function lockOrNotFound(scope: ActionScope, importId: string): Promise<StoredImport> {
  const stored = await lockImport(scope.trx, importId);
  if (!stored) throw notFound();
  return stored;
}

async function confirmStep(scope: ActionScope, input: Step<"confirm">): Promise<Outcome> {
  const stored = await lockOrNotFound(scope, input.importId);
  const refusal = confirmRefusal(stored, input.fileHash);
  if (refusal) throw refusal;
  // Planned, by the application's clock; the database's has the last word.
  if (!(await claimImport(scope.trx, input.importId, input.applier))) throw importExpired();
  return {
    result: { kind: "claimed", stored, rowsDone: 0, rowProblems: [] },
    audit: importEntry("member_import.confirmed", input.importId, {
      fileHash: stored.plan.fileHash,
      counts: stored.plan.counts,
    }),
  };
}

async function resumeStep(scope: ActionScope, input: Step<"resume">): Promise<Outcome> {
  const stored = await lockOrNotFound(scope, input.importId);
  if (stored.status === "planned") throw importNotStarted();
  const at = stored.status === "applying" && (await takeOverImport(scope.trx, input.importId, input.applier));
  if (!at) throw importDetailsRemoved();
  return {
    result: { kind: "claimed", stored, ...at },
    audit: importEntry("member_import.resumed", input.importId, {
      rowsDone: at.rowsDone,
      rows: stored.plan.rows.length,
    }),
  };
}

/** The reason kept in the audit entry and status history of a row applied by an import. */
const reasonFor = (importId: string, line: number) => `CSV import ${importId}, line ${line}`;

async function createRow(scope: ActionScope, row: PlannedRow, reason: string): Promise<AuditDraft> {
  const { name, status, ...extra } = row.changes ?? {};
  if (!name) throw invalidInput(`Line ${row.line} has no name.`);
  const { result: created } = await runNested(scope, createMemberRecord, { name, email: row.email, status });
  const member = Object.keys(extra).length ? await setImportedFields(scope.trx, created.id, extra) : created;
  return {
    action: "member.created",
    subjectType: "member",
    subjectId: member.id,
    after: { name: member.name, email: member.email, status: member.status, ...extra },
    reason,
  };
}

async function updateRow(scope: ActionScope, row: PlannedRow, reason: string): Promise<AuditDraft> {
  const memberId = row.memberId!;
  const now = await lockMemberVersion(scope.trx, memberId);
  if (!now || now.deleted_at)
    throw conflict("The member was deleted after the dry run, so this row was not applied.");
  if (now.version !== row.version) {
    throw conflict(
      "The member was changed after the dry run, so this row was not applied and their changes were kept. " +
        "Upload the file again to review it against the current details.",
      { planVersion: row.version, currentVersion: now.version },
    );
  }
  const { status, ...fields } = row.changes ?? {};
  let version = now.version;
  let member: { id: string; version: number } | undefined;
  if (Object.keys(fields).length) {
    member = (
      await runNested(scope, updateMember, { memberId, version, changes: fields as MemberChanges, reason })
    ).result;
    version = member.version;
  }
  if (status)
    member = (await runNested(scope, changeMemberStatus, { memberId, version, status, reason })).result;
  if (!member) throw invalidInput(`Line ${row.line} changes nothing.`);
  const statusOnly = status !== undefined && Object.keys(fields).length === 0;
  return statusOnly
    ? {
        action: "member.status_changed",
        subjectType: "member",
        subjectId: memberId,
        before: { status: row.before?.status },
        after: { status, version: member.version },
        reason,
      }
    : {
        action: "member.updated",
        subjectType: "member",
        subjectId: memberId,
        before: row.before,
        after: { version: member.version, changes: row.changes },
        reason,
      };
}

// Counting the row as done in its own transaction means the import's progress can never disagree with
// the members. A member whose version moved since the dry run is refused with 409, never overwritten (W-4).
async function rowStep(scope: ActionScope, input: Step<"row">): Promise<Outcome> {
  const { row } = input;
  await markRowDone(scope.trx, input.importId, input.applier, input.index);
  const reason = reasonFor(input.importId, row.line);
  if (row.outcome === "create")
    return { result: { kind: "done" }, audit: await createRow(scope, row, reason) };
  if (row.outcome === "update")
    return { result: { kind: "done" }, audit: await updateRow(scope, row, reason) };
  throw invalidInput(`Line ${row.line} has nothing to apply.`);
}

async function finishStep(scope: ActionScope, input: Step<"finish">): Promise<Outcome> {
  const file = await markImportApplied(scope.trx, input.importId, input.applier, input.result);
  if (!file) throw conflict("This import is not being applied, so its result was not recorded.");
  return {
    result: { kind: "done" },
    audit: importEntry("member_import.applied", input.importId, { ...file, counts: input.result.counts }),
  };
}

/** Applies a dry run, one step per call: confirm or resume (claims the import; an import already applied
 * replays its result and writes nothing, W-3), each planned row (create or update, with the member's
 * own audit entry), and finish (the result and the one summary entry of the whole import). */
export const applyMemberImport = defineAction({
  name: "applyMemberImport",
  access: { capability: "members:write", policy: MADE_THE_IMPORT },
  effect: "admin",
  async unchanged({ trx }, input: ImportStep): Promise<StepOutcome | undefined> {
    if (input.step !== "confirm" && input.step !== "resume") return undefined;
    const state = await lockImportState(trx, input.importId);
    if (state?.status !== "applied" || !state.result) return undefined;
    // A confirm naming another file is refused, not replayed.
    if (input.step === "confirm" && input.fileHash !== state.fileHash) return undefined;
    return { kind: "replayed", result: state.result };
  },
  run(scope, input: ImportStep): Promise<Outcome> {
    switch (input.step) {
      case "confirm":
        return confirmStep(scope, input);
      case "resume":
        return resumeStep(scope, input);
      case "row":
        return rowStep(scope, input);
      case "finish":
        return finishStep(scope, input);
    }
  },
});

/** Retention (data minimisation): removes the row-by-row personal data of every import made before
 * `before`, keeping its summary, with one audit entry naming how many were purged. */
export const purgeImportDetails = defineAction({
  name: "purgeImportDetails",
  access: { capability: "members:write" },
  effect: "write",
  async run({ trx }, input: { before: Date; retentionDays: number; reason: string }) {
    const ids = await purgeImportsBefore(trx, input.before);
    return {
      result: ids.length,
      audit: {
        action: "member_import.purged",
        subjectType: "member_import",
        subjectId: "retention",
        after: {
          purged: ids.length,
          retentionDays: input.retentionDays,
          madeBefore: input.before.toISOString(),
          importIds: ids,
        },
        reason: input.reason,
      },
    };
  },
});
