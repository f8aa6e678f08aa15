import { type ActionScope, defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { fieldsChangedSince } from "../../core/audit.ts";
import { conflict, invalidInput, notFound } from "../../core/errors.ts";
import { dateOnly } from "../../http/present.ts";
import { cancelOpenRegistrationsOf } from "../events/events.lifecycle.ts";
import { endSessionsOfMember } from "../identity/identity.repository.ts";
import {
  ADMIN_FIELDS,
  type AdminField,
  checkChanges,
  type MemberChanges,
  SELF_FIELDS,
  storedValue,
} from "./member-fields.ts";
import { canTransition, isMemberStatus, TRANSITIONS } from "./member-status.ts";
import { ACTS_ON_MEMBER, MAY_CHANGE_STATUS, MAY_DELETE_MEMBER, MAY_EDIT_MEMBER } from "./members.policies.ts";
import {
  emailTakenByOther,
  findTier,
  lockMember,
  type MemberRow,
  setDeleted,
  setMemberStatus,
  updateMemberColumns,
} from "./members.repository.ts";

export type { MemberChanges } from "./member-fields.ts";

// bootstrapAdmin (identity) still records its member's first status here until it uses insertMember.

// The member entries that carry field changes (other member entries carry no version).
const MEMBER_CHANGES = ["member.updated", "member.status_changed", "member.renewed"];

/** The value a column holds, as a change to it would be written (dates as calendar days). */
function currentValue(member: MemberRow, field: AdminField): unknown {
  const value = member[field];
  if (field === "joined_on" || field === "renewal_due_on") return dateOnly(value as string | null);
  return value;
}

/** A member, locked, or 404; refused with 409 naming what changed when the version is stale (W-4). */
async function lockCurrent(scope: ActionScope, memberId: string, version: number | undefined) {
  const member = await lockMember(scope.trx, memberId);
  if (!member) throw notFound();
  if (version !== undefined && member.version !== version) {
    const changed = await fieldsChangedSince(
      scope.trx,
      { type: "member", id: memberId },
      version,
      MEMBER_CHANGES,
    );
    throw conflict(
      `Someone changed this member after you opened the form${changed.length ? ` (${changed.join(", ")})` : ""}. ` +
        "Nothing was saved: reload to see the current details, then make your change again.",
      { currentVersion: member.version, changedFields: changed },
    );
  }
  return member;
}

/** Applies a versioned change (W-4): only the fields whose value differs are written and audited. */
async function applyVersioned(
  scope: ActionScope,
  memberId: string,
  version: number,
  changes: MemberChanges,
  allowed: readonly AdminField[],
) {
  const { trx } = scope;
  checkChanges(changes, allowed);
  const before = await lockCurrent(scope, memberId, version);
  const fields = (Object.keys(changes) as AdminField[]).filter(
    (f) => storedValue(f, changes[f]) !== currentValue(before, f),
  );
  const real = Object.fromEntries(fields.map((f) => [f, storedValue(f, changes[f])])) as MemberChanges;
  if (real.email && real.email.toLowerCase() !== before.email.toLowerCase()) {
    if (await emailTakenByOther(trx, real.email, memberId))
      throw conflict(`Another member already has the email ${real.email}.`);
  }
  if (real.tier_key && !(await findTier(trx, real.tier_key)))
    throw invalidInput(`There is no membership tier "${real.tier_key}". Choose one from the list.`);
  const after = fields.length ? await updateMemberColumns(trx, memberId, real) : before;
  const beforeValues = Object.fromEntries(fields.map((f) => [f, before[f]]));
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

/** An admin edits any field of a member record (status has its own action). Never a member who holds
 * more than the admin, nor the login email of the last full administrator. */
export const updateMember = defineAction({
  name: "updateMember",
  access: { capability: "members:write", policy: MAY_EDIT_MEMBER },
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

/** Moves a member along the status state machine (INV-2), with a reason kept in the history. Never
 * one's own status, a member who holds more than the admin, nor the last full administrator away from
 * active. */
export const changeMemberStatus = defineAction({
  name: "changeMemberStatus",
  access: { capability: "members:write", policy: MAY_CHANGE_STATUS },
  effect: "admin",
  async run(scope, input: { memberId: string; version?: number; status: string; reason: string }) {
    const { trx, actor } = scope;
    if (!isMemberStatus(input.status)) throw invalidInput(`There is no status "${input.status}".`);
    const reason = input.reason?.trim();
    if (!reason)
      throw invalidInput("Say why the status changes; the reason is kept in the member's history.");
    const before = await lockMember(trx, input.memberId);
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
    const after = await setMemberStatus(trx, {
      memberId: before.id,
      from: before.status,
      to: input.status,
      reason,
      by: actorRef(actor),
    });
    return {
      result: after,
      audit: {
        action: "member.status_changed",
        subjectType: "member",
        subjectId: after.id,
        before: { status: before.status },
        after: { status: after.status, version: after.version },
        reason,
      },
    };
  },
});

/** Soft-deletes a member (INV-1): the row, its history and audit trail stay; the email stays taken. Their
 * sessions end, and their registrations for open events are cancelled, each freed seat going to the
 * first in line (INV-8: a deleted member holds no place). Restoring does not bring those back. */
export const deleteMember = defineAction({
  name: "deleteMember",
  access: { capability: "members:write", policy: MAY_DELETE_MEMBER },
  effect: "admin",
  async run(scope, input: { memberId: string; reason: string; timeZone: string }) {
    const { trx } = scope;
    const reason = input.reason?.trim();
    if (!reason) throw invalidInput("Say why the member is deleted.");
    const row = await setDeleted(trx, input.memberId, true);
    if (!row) throw notFound();
    const left = await cancelOpenRegistrationsOf(scope, row.id, input.timeZone);
    await endSessionsOfMember(trx, row.id, "member_deleted");
    return {
      result: row,
      audit: {
        action: "member.deleted",
        subjectType: "member",
        subjectId: row.id,
        after: { cancelledRegistrations: left.cancelled, promoted: left.promoted },
        reason,
      },
      outbox: left.outbox,
    };
  },
});

/** Restores a soft-deleted member with the same id and history; never one who holds more than the admin. */
export const restoreMember = defineAction({
  name: "restoreMember",
  access: { capability: "members:write", policy: ACTS_ON_MEMBER },
  effect: "admin",
  async run({ trx }, input: { memberId: string; reason: string }) {
    const reason = input.reason?.trim();
    if (!reason) throw invalidInput("Say why the member is restored.");
    const row = await setDeleted(trx, input.memberId, false);
    if (!row) throw notFound();
    return {
      result: row,
      audit: { action: "member.restored", subjectType: "member", subjectId: row.id, reason },
    };
  },
});
