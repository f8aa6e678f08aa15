import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { invalidInput, sqlState } from "../../core/errors.ts";
import { activeFullAdmins } from "../identity/identity.repository.ts";
import {
  addConfirmationIn,
  insertEntry,
  openIncidentIn,
  openIncidents,
  recordDecisionIn,
  refreshOpsAlerts,
} from "./incidents.repository.ts";
import { writeMode } from "./ops.repository.ts";
import { RESTORE_ERRORS } from "./restore.errors.ts";
import { insertRestore, lockOpenRestore, updateRestore } from "./restore.repository.ts";

/* The steps of a restore in place (REC-1..REC-4, B-4), each one audited action. The work between them
 * (the pre-restore backup, the load, the verification suite) runs outside any transaction, in
 * src/app/restore-flow.ts. They are recovery actions: they run in maintenance mode, which a restore
 * turns on and only its sign-off turns off. */

const RESTORE = { capability: "backups:restore" } as const;

/** One step's outcome in the verification suite, as the flow reports it. */
export interface VerificationStep {
  name: string;
  ok: boolean;
  detail: string;
}

const maintenanceReason = (backupId: string, what: string) =>
  `Restore of backup ${backupId}: ${what} Writes are off until the restore is verified and signed off.`;

/** Starts a restore: maintenance mode on (every write refused, mail paused, pages say a restore is
 * under way), a restore row, and the restore as a decision on the open incidents, or a new incident
 * in the data area when none is open, which will receive the written confirmation. */
export const beginRestore = defineAction({
  name: "beginRestore",
  access: RESTORE,
  effect: "recovery",
  async run(scope, input: { backupId: string; reason: string }) {
    const { trx, actor, state } = scope;
    const reason = (input.reason ?? "").trim();
    if (!reason)
      throw invalidInput("A reason is required: it is shown to everyone and kept in the audit log.");
    const who = actorRef(actor);
    const open = await lockOpenRestore(trx);
    if (open && (open.status === "started" || open.status === "verifying")) {
      throw RESTORE_ERRORS.restore_in_progress(
        `A restore of backup ${open.backup_id} started by ${open.started_by} is still running. Wait for it to finish (see \`clubos restore status\`), then try again.`,
      );
    }
    // A restore waiting for sign-off may be replaced by another (the pre-restore backup, say): the
    // mode to return to is still the one before the first.
    const previousMode = open ? open.previous_mode : (state?.mode ?? "normal");
    if (open) await updateRestore(trx, open.id, { status: "superseded" });
    const [already] = await openIncidents(trx);
    const { incident, outbox } = already
      ? { incident: already, outbox: [] }
      : await openIncidentIn(scope, {
          severity: "SEV-2",
          title: `Restore of backup ${input.backupId}`,
          area: "data",
          openedBy: who,
          note: reason,
        });
    const row = await insertRestore(trx, {
      backupId: input.backupId,
      reason,
      previousMode,
      startedBy: who,
      incidentId: incident.id,
    }).catch((error: unknown) => {
      // Another server started one between our look and our insert (restores_one_open).
      if (sqlState(error) === "23505")
        throw RESTORE_ERRORS.restore_in_progress("Another restore has just started. Wait for it to finish.");
      throw error;
    });
    await writeMode(trx, {
      mode: "maintenance",
      reason: maintenanceReason(input.backupId, "under way."),
      changedBy: who,
    });
    await recordDecisionIn(trx, { actor: who, action: `restore ${input.backupId}`, rationale: reason });
    await refreshOpsAlerts(trx);
    return {
      result: { restoreId: row.id, incident, previousMode },
      audit: {
        action: "system.restore_started",
        subjectType: "restore",
        subjectId: row.id,
        before: { mode: state?.mode ?? "unknown" },
        after: { mode: "maintenance", backupId: input.backupId, superseded: open?.id ?? null },
        reason,
      },
      outbox,
    };
  },
});

/** A restore that did not replace anything (the pre-restore backup or the load failed, and the load's
 * transaction was undone): the mode goes back to what it was, and the incident says why. */
export const failRestore = defineAction({
  name: "failRestore",
  access: RESTORE,
  effect: "recovery",
  async run(
    { trx, actor },
    input: { restoreId: string; failure: string; preRestoreBackupId?: string | null },
  ) {
    const open = await lockOpenRestore(trx);
    if (!open || open.id !== input.restoreId)
      throw RESTORE_ERRORS.restore_not_open("This restore is no longer open.");
    const who = actorRef(actor);
    await updateRestore(trx, open.id, {
      status: "failed",
      failure: input.failure,
      preRestoreBackupId: input.preRestoreBackupId ?? null,
    });
    const mode = open.previous_mode as "normal" | "read-only" | "maintenance";
    const rationale = `The restore of backup ${open.backup_id} did not happen and nothing was changed: ${input.failure}`;
    await writeMode(trx, { mode, reason: rationale, changedBy: who });
    if (open.incident_id)
      await insertEntry(trx, { incidentId: open.incident_id, kind: "note", actor: who, text: rationale });
    await recordDecisionIn(trx, { actor: who, action: `mode ${mode}`, rationale });
    await refreshOpsAlerts(trx);
    return {
      result: { mode },
      audit: {
        action: "system.restore_failed",
        subjectType: "restore",
        subjectId: open.id,
        after: { mode, failure: input.failure },
      },
    };
  },
});

/** Records the restored data and the verification suite's result. Writes stay off either way: a
 * passed suite waits for sign-off, a failed one for another restore. The written confirmation (who,
 * which backup, the pre-restore backup, counts, each check) goes on the incident. */
export const recordRestoreVerified = defineAction({
  name: "recordRestoreVerified",
  access: RESTORE,
  effect: "recovery",
  async run(
    { trx, actor },
    input: {
      restoreId: string;
      preRestoreBackupId: string;
      chainSeq: number;
      tables: number;
      rows: number;
      steps: VerificationStep[];
    },
  ) {
    const open = await lockOpenRestore(trx);
    if (!open || open.id !== input.restoreId)
      throw RESTORE_ERRORS.restore_not_open("This restore is no longer open.");
    const who = actorRef(actor);
    const ok = input.steps.length > 0 && input.steps.every((s) => s.ok);
    await updateRestore(trx, open.id, {
      status: ok ? "verified" : "verification_failed",
      preRestoreBackupId: input.preRestoreBackupId,
      chainSeq: input.chainSeq,
      verification: { ok, tables: input.tables, rows: input.rows, steps: input.steps },
    });
    await writeMode(trx, {
      mode: "maintenance",
      reason: maintenanceReason(
        open.backup_id,
        ok
          ? "the data is restored and verified, and waits for sign-off."
          : "the restored data FAILED verification; restore another backup (the pre-restore one puts everything back).",
      ),
      changedBy: who,
    });
    const lines = [
      `Restored backup ${open.backup_id} (started by ${open.started_by}: ${open.reason}).`,
      `Pre-restore backup of the data it replaced: ${input.preRestoreBackupId}.`,
      `${input.tables} tables, ${input.rows} rows reconciled with the manifest; audit chain continues from entry ${input.chainSeq}.`,
      `Verification ${ok ? "passed" : "FAILED"}: ${input.steps.map((s) => `${s.name} ${s.ok ? "ok" : "FAILED"} (${s.detail})`).join("; ")}.`,
      ok ? "Writes stay off until someone signs off with `clubos resume --sign-off`." : "Writes stay off.",
    ];
    if (open.incident_id)
      await addConfirmationIn(trx, { incidentId: open.incident_id, actor: who, text: lines.join("\n") });
    await refreshOpsAlerts(trx);
    return {
      result: { ok, incidentId: open.incident_id },
      audit: {
        action: "system.restored",
        subjectType: "restore",
        subjectId: open.id,
        // The entry 'system.restore_started' went with the log the load replaced (it is in the pre-restore
        // backup), so this one says again who started the restore, when and why.
        after: {
          ok,
          backupId: open.backup_id,
          startedBy: open.started_by,
          startedAt: open.started_at,
          reason: open.reason,
          preRestoreBackupId: input.preRestoreBackupId,
          tables: input.tables,
          rows: input.rows,
          chainSeq: input.chainSeq,
          failed: input.steps.filter((s) => !s.ok).map((s) => s.name),
        },
      },
    };
  },
});

/** Signs off a verified restore and turns writes back on (REC-3, B-4). Refused while the verification
 * suite has not passed, and, when the club has two or more full admins, for the person who started the
 * restore: no one approves their own irreversible step. */
export const signOffRestore = defineAction({
  name: "signOffRestore",
  access: RESTORE,
  effect: "recovery",
  async run({ trx, actor }, input: { note?: string }) {
    const open = await lockOpenRestore(trx);
    if (!open) {
      throw RESTORE_ERRORS.restore_not_open(
        "No restore is waiting for sign-off. To leave maintenance or read-only mode otherwise, use `clubos mode set normal`.",
      );
    }
    if (open.status !== "verified") {
      throw RESTORE_ERRORS.restore_not_verified(
        open.status === "verification_failed"
          ? `The data restored from backup ${open.backup_id} failed verification, so writes stay off. See the incident's confirmation for what failed, then restore another backup (the pre-restore backup ${open.pre_restore_backup_id ?? ""} puts back what was there).`
          : `The restore of backup ${open.backup_id} is still running (${open.status}). Wait until it has been verified.`,
      );
    }
    const who = actorRef(actor);
    const admins = await activeFullAdmins(trx);
    if (who === open.started_by && admins.length >= 2) {
      throw RESTORE_ERRORS.restore_own_sign_off(
        `You started this restore, and the club has ${admins.length} full admins: another of them must check the restored data and sign it off.`,
      );
    }
    await updateRestore(trx, open.id, { status: "signed_off", signedOffBy: who });
    const rationale = `Signed off the restore of backup ${open.backup_id}${input.note?.trim() ? `: ${input.note.trim()}` : ""}. Writes are on again.`;
    await writeMode(trx, { mode: "normal", reason: rationale, changedBy: who });
    if (open.incident_id)
      await addConfirmationIn(trx, { incidentId: open.incident_id, actor: who, text: rationale });
    await recordDecisionIn(trx, { actor: who, action: "mode normal", rationale });
    await refreshOpsAlerts(trx);
    return {
      result: { backupId: open.backup_id, incidentId: open.incident_id },
      audit: {
        action: "system.restore_signed_off",
        subjectType: "restore",
        subjectId: open.id,
        before: { mode: "maintenance" },
        after: { mode: "normal", startedBy: open.started_by },
        reason: input.note?.trim() || null,
      },
    };
  },
});
