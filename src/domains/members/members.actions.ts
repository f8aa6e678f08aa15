import { sql, type Transaction } from "kysely";
import { type ActionScope, defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { fieldsChangedSince } from "../../core/audit.ts";
import type { DB } from "../../core/db/schema.ts";
import { conflict, invalidInput, notFound } from "../../core/errors.ts";
import { cancelOpenRegistrationsOf } from "../events/events.lifecycle.ts";

import { canTransition, isMemberStatus, TRANSITIONS } from "./member-status.ts";
import { ADMIN_FIELDS, type AdminField, SELF_FIELDS } from "./members.repository.ts";

// The member entries that carry field changes (other member entries carry no version).
const MEMBER_CHANGES = ["member.updated", "member.status_changed", "member.renewed"];

/** Changes to a member record; only the fields present change. */
export type MemberChanges = Partial<{
  name: string;
  email: string;
  phone: string;
  address: string;
  directory_opt_out: boolean;
  joined_on: string;
  tier_key: string | null;
  renewal_due_on: string | null;
  admin_notes: string;
}>;

function validate(changes: MemberChanges): void {
  if (changes.name !== undefined && !changes.name.trim()) throw invalidInput("A name cannot be empty.");
  if (changes.email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(changes.email.trim())) {
    throw invalidInput(`"${changes.email}" is not an email address.`);
  }
  for (const field of ["joined_on", "renewal_due_on"] as const) {
    const value = changes[field];
    if (value && (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))) {
      throw invalidInput(
        `${field === "joined_on" ? "The joining date" : "The renewal date"} must be a date like 2026-01-31.`,
      );
    }
  }
  if (changes.phone !== undefined && changes.phone.length > 40)
    throw invalidInput("The phone number is too long.");
  if (changes.address !== undefined && changes.address.length > 500)
    throw invalidInput("The address is too long.");
}

/** Applies a versioned change (W-4): refused with 409, naming what changed, if the version is stale. */
async function applyVersioned(
  scope: ActionScope,
  memberId: string,
  version: number,
  changes: MemberChanges,
  allowed: readonly AdminField[],
) {
  const { trx } = scope;
  const fields = Object.keys(changes) as AdminField[];
  const outside = fields.filter((f) => !allowed.includes(f));
  if (outside.length > 0) throw invalidInput(`These fields cannot be changed here: ${outside.join(", ")}.`);
  validate(changes);
  const before = await trx
    .selectFrom("members")
    .selectAll()
    .where("id", "=", memberId)
    .where("deleted_at", "is", null)
    .forUpdate()
    .executeTakeFirst();
  if (!before) throw notFound();
  if (before.version !== version) {
    const changed = await fieldsChangedSince(trx, { type: "member", id: memberId }, version, MEMBER_CHANGES);
    throw conflict(
      `Someone changed this member after you opened the form${changed.length ? ` (${changed.join(", ")})` : ""}. ` +
        "Nothing was saved: reload to see the current details, then make your change again.",
      { currentVersion: before.version, changedFields: changed },
    );
  }
  const real = Object.fromEntries(
    fields
      .filter((f) => String(before[f] ?? "") !== String(changes[f] ?? ""))
      .map((f) => [
        f,
        changes[f] === undefined
          ? null
          : typeof changes[f] === "string"
            ? (changes[f] as string).trim()
            : changes[f],
      ]),
  ) as MemberChanges;
  if (real.email && real.email.toLowerCase() !== before.email.toLowerCase()) {
    const taken = await trx
      .selectFrom("members")
      .select("id")
      .where(sql`lower(email)`, "=", real.email.toLowerCase())
      .where("id", "!=", memberId)
      .executeTakeFirst();
    if (taken) throw conflict(`Another member already has the email ${real.email}.`);
  }
  const after = await trx
    .updateTable("members")
    .set({ ...real, version: sql`version + 1` })
    .where("id", "=", memberId)
    .returningAll()
    .executeTakeFirstOrThrow();
  const beforeValues = Object.fromEntries(Object.keys(real).map((f) => [f, before[f as AdminField]]));
  return { before: beforeValues, after, changes: real };
}

/** A member edits their own contact details and directory choice. */
export const updateOwnProfile = defineAction({
  name: "updateOwnProfile",
  access: { capability: "profile:write" },
  effect: "write",
  async run(scope, input: { version: number; changes: MemberChanges }) {
    if (scope.actor.type !== "member") throw notFound();
    const r = await applyVersioned(scope, scope.actor.memberId, input.version, input.changes, SELF_FIELDS);
    return {
      result: r.after,
      audit: {
        action: "member.updated",
        subjectType: "member",
        subjectId: r.after.id,
        before: r.before,
        after: { version: r.after.version, changes: r.changes },
      },
    };
  },
});

/** An admin edits any field of a member record (status has its own action). */
export const updateMember = defineAction({
  name: "updateMember",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { memberId: string; version: number; changes: MemberChanges; reason?: string }) {
    const r = await applyVersioned(scope, input.memberId, input.version, input.changes, ADMIN_FIELDS);
    return {
      result: r.after,
      audit: {
        action: "member.updated",
        subjectType: "member",
        subjectId: r.after.id,
        before: r.before,
        after: { version: r.after.version, changes: r.changes },
        reason: input.reason ?? null,
      },
    };
  },
});

/** Records a status change in the history table; the caller has checked the transition. */
export async function recordStatusChange(
  trx: Transaction<DB>,
  memberId: string,
  from: string | null,
  to: string,
  reason: string,
  by: string,
) {
  await trx
    .insertInto("member_status_history")
    .values({ member_id: memberId, from_status: from, to_status: to, reason, changed_by: by })
    .execute();
}

/** Moves a member along the status state machine (INV-2), with a reason kept in the history. */
export const changeMemberStatus = defineAction({
  name: "changeMemberStatus",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { memberId: string; version?: number; status: string; reason: string }) {
    const { trx, actor } = scope;
    if (!isMemberStatus(input.status)) throw invalidInput(`There is no status "${input.status}".`);
    if (!input.reason?.trim())
      throw invalidInput("Say why the status changes; the reason is kept in the member's history.");
    const before = await trx
      .selectFrom("members")
      .selectAll()
      .where("id", "=", input.memberId)
      .where("deleted_at", "is", null)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw notFound();
    if (input.version !== undefined && before.version !== input.version) {
      throw conflict("Someone changed this member after you opened the page. Reload and try again.", {
        currentVersion: before.version,
      });
    }
    if (!canTransition(before.status, input.status)) {
      const allowed = TRANSITIONS[before.status as keyof typeof TRANSITIONS] ?? [];
      throw conflict(
        `A member who is ${before.status} cannot become ${input.status}. From ${before.status} the next status can be: ${allowed.join(", ") || "none"}.`,
        { from: before.status, to: input.status, allowed },
      );
    }
    const after = await trx
      .updateTable("members")
      .set({ status: input.status, version: sql`version + 1` })
      .where("id", "=", input.memberId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordStatusChange(
      trx,
      after.id,
      before.status,
      after.status,
      input.reason.trim(),
      actorRef(actor),
    );
    return {
      result: after,
      audit: {
        action: "member.status_changed",
        subjectType: "member",
        subjectId: after.id,
        before: { status: before.status },
        after: { status: after.status, version: after.version },
        reason: input.reason.trim(),
      },
    };
  },
});

/** Sets or clears a member's deleted_at; refuses (404) when the member is not in the other state. */
async function setDeleted(trx: Transaction<DB>, memberId: string, deleted: boolean) {
  const row = await trx
    .updateTable("members")
    .set({ deleted_at: deleted ? sql`now()` : null, version: sql`version + 1` })
    .where("id", "=", memberId)
    .where("deleted_at", deleted ? "is" : "is not", null)
    .returning(["id", "email"])
    .executeTakeFirst();
  if (!row) throw notFound();
  return row;
}

/** Soft-deletes a member (INV-1): the row, its history and audit trail stay; the email stays taken. Their
 * sessions end, and their registrations for open events are cancelled, each freed seat going to the
 * first in line (INV-8: a deleted member holds no place). Restoring does not bring those back. */
export const deleteMember = defineAction({
  name: "deleteMember",
  access: { capability: "members:write" },
  effect: "admin",
  async run(scope, input: { memberId: string; reason: string; timeZone: string }) {
    const { trx } = scope;
    if (!input.reason?.trim()) throw invalidInput("Say why the member is deleted.");
    const row = await setDeleted(trx, input.memberId, true);
    const left = await cancelOpenRegistrationsOf(scope, row.id, input.timeZone);
    await trx
      .updateTable("sessions")
      .set({ ended_at: sql`now()`, ended_reason: "member_deleted" })
      .where("ended_at", "is", null)
      .where("account_id", "in", trx.selectFrom("accounts").select("id").where("member_id", "=", row.id))
      .execute();
    return {
      result: row,
      audit: {
        action: "member.deleted",
        subjectType: "member",
        subjectId: row.id,
        after: { cancelledRegistrations: left.cancelled, promoted: left.promoted },
        reason: input.reason.trim(),
      },
      outbox: left.outbox,
    };
  },
});

/** Restores a soft-deleted member with the same id and history. */
export const restoreMember = defineAction({
  name: "restoreMember",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx }, input: { memberId: string; reason: string }) {
    if (!input.reason?.trim()) throw invalidInput("Say why the member is restored.");
    const row = await setDeleted(trx, input.memberId, false);
    return {
      result: row,
      audit: {
        action: "member.restored",
        subjectType: "member",
        subjectId: row.id,
        reason: input.reason.trim(),
      },
    };
  },
});
