import { SIGNED_IN_MEMBER } from "../../core/access.ts";
import { defineAction } from "../../core/action.ts";
import { type Actor, actorRef } from "../../core/actor.ts";
import {
  type Capability,
  capabilitiesOf,
  isCapability,
  isRoleKey,
  ROLES,
  type RoleKey,
} from "../../core/capabilities.ts";
import { conflict, forbidden, invalidInput, notFound } from "../../core/errors.ts";
import { hashSecret, newSecret, oneTimePassword } from "../../core/secrets.ts";
import { findMember, insertMember } from "../members/members.repository.ts";
import { IDENTITY_ERRORS } from "./identity.errors.ts";
import { KEEPS_ADMIN_ROLE } from "./identity.policies.ts";
import {
  accountOfMember,
  activeRoleKeys,
  endRoleAssignmentNow,
  endSession,
  endSessionsOfAccount,
  findMemberByEmail,
  insertAccount,
  insertApiToken,
  insertRoleAssignment,
  insertSession,
  lockRoleAssignment,
  resetAccount,
  revokeApiTokenRow,
  setPassword,
} from "./identity.repository.ts";
import { clearLoginThrottle } from "./login-throttle.ts";
import { assertAcceptablePassword, hashPassword, verifyPassword } from "./passwords.ts";

/** The member acting in an action gated by SIGNED_IN_MEMBER, which admits members only. */
function signedInMember(actor: Actor): string {
  if (actor.type !== "member") throw new Error("SIGNED_IN_MEMBER admits members only.");
  return actor.memberId;
}

/** Starts a session for a member whose password was just verified; a new token every time. */
export const startSession = defineAction({
  name: "startSession",
  access: { policy: SIGNED_IN_MEMBER },
  effect: "recovery", // logging in must keep working in read-only mode
  async run({ trx }, input: { accountId: string; absoluteHours: number; ip: string; replaces?: string }) {
    if (input.replaces) await endSession(trx, input.replaces, "rotated");
    const token = newSecret();
    const sessionId = await insertSession(trx, {
      accountId: input.accountId,
      tokenHash: hashSecret(token),
      absoluteHours: input.absoluteHours,
      ip: input.ip,
    });
    return {
      result: { token, sessionId },
      audit: {
        action: "session.started",
        subjectType: "account",
        subjectId: input.accountId,
        after: { ip: input.ip },
      },
    };
  },
});

/** Ends the caller's own session (log out). */
export const endOwnSession = defineAction({
  name: "endOwnSession",
  access: { policy: SIGNED_IN_MEMBER },
  effect: "recovery",
  async run({ trx, actor }, input: { sessionId: string }) {
    const account = await accountOfMember(trx, signedInMember(actor));
    if (!account) throw notFound();
    await endSession(trx, input.sessionId, "logout");
    return {
      result: null,
      audit: { action: "session.ended", subjectType: "account", subjectId: account.id },
    };
  },
});

/** Changes the caller's own password after checking the current one. Every session of theirs ends,
 * the one in use too, and a new session continues the visit: its token is the result. */
export const changeOwnPassword = defineAction({
  name: "changeOwnPassword",
  access: { policy: SIGNED_IN_MEMBER },
  effect: "write",
  async run(
    { trx, actor },
    input: { current: string; password: string; confirm: string; absoluteHours: number; ip: string },
  ) {
    const account = await accountOfMember(trx, signedInMember(actor));
    if (!account || !(await verifyPassword(account.password_hash, input.current)))
      throw invalidInput("Your current password is not right.");
    if (input.password !== input.confirm) throw invalidInput("The two new passwords are not the same.");
    assertAcceptablePassword(input.password);
    await setPassword(trx, account.id, await hashPassword(input.password));
    const sessionsEnded = await endSessionsOfAccount(trx, account.id, "password_changed");
    const token = newSecret();
    await insertSession(trx, {
      accountId: account.id,
      tokenHash: hashSecret(token),
      absoluteHours: input.absoluteHours,
      ip: input.ip,
    });
    return {
      result: { token },
      audit: {
        action: "account.password_changed",
        subjectType: "account",
        subjectId: account.id,
        after: { sessionsEnded },
      },
    };
  },
});

/** Creates or recovers an administrator (`clubos admin create`): a member, an account with a one-time
 * password that must be changed at first login, and the full administrator role. */
export const bootstrapAdmin = defineAction({
  name: "bootstrapAdmin",
  access: { capability: "system:operate" },
  effect: "recovery", // admin access recovery must work in every mode (H-3)
  async run({ trx, actor }, input: { email: string; name: string; password?: string; reason?: string }) {
    const email = input.email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw invalidInput(`"${email}" is not an email address.`);
    if (!input.name.trim()) throw invalidInput("A name is required.");
    const password = input.password ?? oneTimePassword();
    assertAcceptablePassword(password);
    let member = await findMemberByEmail(trx, email);
    if (member?.deleted_at) {
      throw conflict(
        `${email} belongs to a deleted member; restore the member before making them an administrator.`,
      );
    }
    member ??= await insertMember(trx, {
      name: input.name.trim(),
      email,
      status: "active",
      reason: "administrator created",
      by: actorRef(actor),
    });
    const accountId = await resetAccount(trx, {
      memberId: member.id,
      passwordHash: await hashPassword(password),
      mustChangePassword: !input.password,
    });
    await endSessionsOfAccount(trx, accountId, "admin_recovered");
    const throttlesCleared = await clearLoginThrottle(trx, email);
    const roles = await activeRoleKeys(trx, member.id);
    if (!roles.includes("full_admin")) {
      await insertRoleAssignment(trx, {
        memberId: member.id,
        roleKey: "full_admin",
        grantedBy: actorRef(actor),
      });
    }
    return {
      result: { memberId: member.id, accountId, password },
      audit: {
        action: "admin.bootstrapped",
        subjectType: "member",
        subjectId: member.id,
        after: { email, role: "full_admin", rolesBefore: roles, throttlesCleared },
        reason: input.reason ?? "administrator access created or recovered",
      },
    };
  },
});

/** Grants a role (INV-3, G04): needs roles:grant and every capability the role carries. */
export const grantRole = defineAction({
  name: "grantRole",
  access: { capability: "roles:grant" },
  effect: "admin",
  async run(
    { trx, actor },
    input: { memberId: string; roleKey: string; startsAt?: Date; endsAt?: Date | null; reason: string },
  ) {
    if (!isRoleKey(input.roleKey)) throw invalidInput(`There is no role "${input.roleKey}".`);
    const role = ROLES[input.roleKey as RoleKey];
    const missing = (role.capabilities as readonly Capability[]).filter((c) => !actor.capabilities.has(c));
    if (missing.length > 0) {
      throw IDENTITY_ERRORS.grant_exceeds_own(
        `You cannot grant ${role.name}: it carries ${missing.join(", ")}, which you do not hold yourself.`,
      );
    }
    if (!input.reason?.trim())
      throw invalidInput("Say why this role is granted; the reason is kept in the audit log.");
    if (!(await findMember(trx, input.memberId))) throw notFound();
    const row = await insertRoleAssignment(trx, {
      memberId: input.memberId,
      roleKey: input.roleKey,
      startsAt: input.startsAt,
      endsAt: input.endsAt,
      grantedBy: actorRef(actor),
    });
    return {
      result: row,
      audit: {
        action: "role.granted",
        subjectType: "role_assignment",
        subjectId: row.id,
        after: { memberId: row.member_id, role: row.role_key, startsAt: row.starts_at, endsAt: row.ends_at },
        reason: input.reason,
      },
    };
  },
});

/** Ends a role assignment now (permission rollback): the row stays as history. Never the last active
 * full administrator's full_admin role (KEEPS_ADMIN_ROLE). */
export const endRoleAssignment = defineAction({
  name: "endRoleAssignment",
  access: { capability: "roles:grant", policy: KEEPS_ADMIN_ROLE },
  effect: "admin",
  async run({ trx, actor }, input: { assignmentId: string; reason: string }) {
    if (!input.reason?.trim())
      throw invalidInput("Say why this role ends; the reason is kept in the audit log.");
    const before = await lockRoleAssignment(trx, input.assignmentId);
    if (!before) throw notFound();
    if (before.ends_at && new Date(before.ends_at) <= new Date())
      throw conflict("This role assignment has already ended.");
    const after = await endRoleAssignmentNow(trx, input.assignmentId, actorRef(actor));
    return {
      result: after,
      audit: {
        action: "role.ended",
        subjectType: "role_assignment",
        subjectId: after.id,
        before: { role: before.role_key, endsAt: before.ends_at },
        after: { role: after.role_key, endsAt: after.ends_at },
        reason: input.reason,
      },
    };
  },
});

/** Creates a personal API token; the secret is returned once and only its hash is kept. */
export const createApiToken = defineAction({
  name: "createApiToken",
  access: { capability: "system:operate" },
  effect: "admin",
  async run({ trx }, input: { memberEmail: string; name: string; capabilities?: string[] }) {
    const member = await findMemberByEmail(trx, input.memberEmail);
    if (!member || member.deleted_at) throw invalidInput(`No member has the email ${input.memberEmail}.`);
    const unknown = (input.capabilities ?? []).filter((c) => !isCapability(c));
    if (unknown.length > 0) throw invalidInput(`Unknown capabilities: ${unknown.join(", ")}.`);
    if (input.capabilities) {
      const held = new Set(capabilitiesOf(await activeRoleKeys(trx, member.id)));
      const beyond = input.capabilities.filter((c) => !held.has(c as Capability));
      if (beyond.length > 0) throw forbidden(beyond.join(", "));
    }
    const secret = newSecret("cos_");
    const id = await insertApiToken(trx, {
      memberId: member.id,
      name: input.name,
      tokenHash: hashSecret(secret),
      capabilities: input.capabilities ?? null,
    });
    return {
      result: { id, secret },
      audit: {
        action: "api_token.created",
        subjectType: "api_token",
        subjectId: id,
        after: {
          memberId: member.id,
          name: input.name,
          capabilities: input.capabilities ?? "all of the member's",
        },
      },
    };
  },
});

/** Revokes an API token at once. */
export const revokeApiToken = defineAction({
  name: "revokeApiToken",
  access: { capability: "system:operate" },
  effect: "recovery", // revoking access must work even in read-only mode (S-3)
  async run({ trx }, input: { id: string }) {
    const row = await revokeApiTokenRow(trx, input.id);
    if (!row) throw notFound();
    return {
      result: row,
      audit: { action: "api_token.revoked", subjectType: "api_token", subjectId: row.id },
    };
  },
});

/** Opens a login account for a member: with the given password, or a one-time password that must
 * be changed at first login. Refused if the member already has one. */
export const createAccount = defineAction({
  name: "createAccount",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx }, input: { memberId: string; password?: string }) {
    if (!(await findMember(trx, input.memberId))) throw notFound();
    if (await accountOfMember(trx, input.memberId))
      throw conflict("This member already has a login account.");
    const password = input.password ?? oneTimePassword();
    assertAcceptablePassword(password);
    const accountId = await insertAccount(trx, {
      memberId: input.memberId,
      passwordHash: await hashPassword(password),
      mustChangePassword: !input.password,
    });
    return {
      result: { accountId, password },
      audit: {
        action: "account.created",
        subjectType: "account",
        subjectId: accountId,
        after: { memberId: input.memberId },
      },
    };
  },
});
