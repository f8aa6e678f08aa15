import { sql } from "kysely";
import { type ActionScope, defineAction } from "../../../core/action.ts";
import { conflict, invalidInput } from "../../../core/errors.ts";
import { createMemberRecord } from "../member-create.actions.ts";
import { changeMemberStatus, type MemberChanges, updateMember } from "../members.actions.ts";
import { type ImportResult, markRowDone, purgeImportsBefore } from "./import.repository.ts";
import type { PlannedRow } from "./plan.ts";

/** The reason kept in the audit entry and status history of a row applied by an import. */
const reasonFor = (importId: string, line: number) => `CSV import ${importId}, line ${line}`;

async function createRow(scope: ActionScope, row: PlannedRow, reason: string) {
  const { name, status, ...extra } = row.changes ?? {};
  if (!name) throw invalidInput(`Line ${row.line} has no name.`);
  const { result: created } = await createMemberRecord.run(scope, { name, email: row.email, status });
  // Created in this very transaction, so nobody can hold an older version: no version bump needed.
  const member = Object.keys(extra).length
    ? await scope.trx
        .updateTable("members")
        .set(extra)
        .where("id", "=", created.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    : created;
  return {
    result: member,
    audit: {
      action: "member.created",
      subjectType: "member",
      subjectId: member.id,
      after: { name: member.name, email: member.email, status: member.status, ...extra },
      reason,
    },
  };
}

async function updateRow(scope: ActionScope, row: PlannedRow, reason: string) {
  const memberId = row.memberId!;
  const now = await scope.trx
    .selectFrom("members")
    .select(["version", "deleted_at"])
    .where("id", "=", memberId)
    .forUpdate()
    .executeTakeFirst();
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
    member = (await updateMember.run(scope, { memberId, version, changes: fields as MemberChanges, reason }))
      .result;
    version = member.version;
  }
  if (status) member = (await changeMemberStatus.run(scope, { memberId, version, status, reason })).result;
  if (!member) throw invalidInput(`Line ${row.line} changes nothing.`);
  const statusOnly = status !== undefined && Object.keys(fields).length === 0;
  return {
    result: member,
    audit: statusOnly
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
        },
  };
}

/** Applies one planned row (create or update) in one transaction with one audit entry (W-2), which also
 * counts the row as done, so the import's progress can never disagree with the members. A member whose
 * version moved since the dry run is refused with 409, never overwritten (W-4). */
export const importMemberRow = defineAction({
  name: "importMemberRow",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { importId: string; applier: string; index: number; row: PlannedRow }) {
    const { row } = input;
    await markRowDone(scope.trx, input.importId, input.applier, input.index);
    const reason = reasonFor(input.importId, row.line);
    if (row.outcome === "create") return createRow(scope, row, reason);
    if (row.outcome === "update") return updateRow(scope, row, reason);
    throw invalidInput(`Line ${row.line} has nothing to apply.`);
  },
});

/** Closes an import: stores its result and writes the one summary audit entry of the whole import. */
export const recordImportApplied = defineAction({
  name: "recordImportApplied",
  access: { capability: "members:write" },
  effect: "admin",
  async run(
    { trx },
    input: { importId: string; applier: string; fileHash: string; fileName: string; result: ImportResult },
  ) {
    const row = await trx
      .updateTable("member_imports")
      .set({
        status: "applied",
        result: JSON.stringify(input.result),
        applied_at: sql`now()`,
        applier: null,
        row_problems: "[]",
      })
      .where("id", "=", input.importId)
      .where("status", "=", "applying")
      .where("applier", "=", input.applier)
      .returning("id")
      .executeTakeFirst();
    if (!row) throw conflict("This import is not being applied, so its result was not recorded.");
    return {
      result: row,
      audit: {
        action: "member_import.applied",
        subjectType: "member_import",
        subjectId: input.importId,
        after: { fileHash: input.fileHash, fileName: input.fileName, counts: input.result.counts },
      },
    };
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
