import { sql } from "kysely";
import { SIGNED_IN_MEMBER } from "../../core/access.ts";
import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import {
  type Capability,
  capabilitiesOf,
  isCapability,
  isRoleKey,
  ROLES,
  type RoleKey,
} from "../../core/capabilities.ts";
import { ClubError, conflict, forbidden, invalidInput, notFound } from "../../core/errors.ts";
import { hashSecret, newSecret, oneTimePassword } from "../../core/secrets.ts";
import { recordStatusChange } from "../members/members.actions.ts";
import { activeRoleKeys, endSession, findMemberByEmail } from "./identity.repository.ts";
import { assertAcceptablePassword, hashPassword } from "./passwords.ts";

/** Starts a session for a member whose password was just verified; a new token every time. */
export const startSession = defineAction({
  name: "startSession",
  access: { policy: SIGNED_IN_MEMBER },
  effect: "recovery", // logging in must keep working in read-only mode
  async run({ trx }, input: { accountId: string; absoluteHours: number; ip: string; replaces?: string }) {
    if (input.replaces) await endSession(trx, input.replaces, "rotated");
    const token = newSecret();
    const row = await trx
      .insertInto("sessions")
      .values({
        token_hash: hashSecret(token),
        account_id: input.accountId,
        expires_at: sql`now() + make_interval(hours => ${input.absoluteHours})`,
        ip: input.ip,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return {
      result: { token, sessionId: row.id },
      audit: {
        action: "session.started",
        subjectType: "account",
        subjectId: input.accountId,
        after: { ip: input.ip },
      },
    };
  },
});

/** Ends the caller's session. */
export const endOwnSession = defineAction({
  name: "endOwnSession",
  access: { policy: SIGNED_IN_MEMBER },
  effect: "recovery",
  async run({ trx }, input: { sessionId: string; accountId: string }) {
    await endSession(trx, input.sessionId, "logout");
    return {
      result: null,
      audit: { action: "session.ended", subjectType: "account", subjectId: input.accountId },
    };
  },
});

/** Changes the caller's own password; every other session of theirs ends. */
export const changeOwnPassword = defineAction({
  name: "changeOwnPassword",
  access: { policy: SIGNED_IN_MEMBER },
  effect: "write",
  async run({ trx }, input: { accountId: string; newHash: string; keepSessionId?: string }) {
    await trx
      .updateTable("accounts")
      .set({ password_hash: input.newHash, must_change_password: false })
      .where("id", "=", input.accountId)
      .execute();
    let ended = trx
      .updateTable("sessions")
      .set({ ended_at: sql`now()`, ended_reason: "password_changed" })
      .where("account_id", "=", input.accountId)
      .where("ended_at", "is", null);
    if (input.keepSessionId) ended = ended.where("id", "!=", input.keepSessionId);
    await ended.execute();
    return {
      result: null,
      audit: { action: "account.password_changed", subjectType: "account", subjectId: input.accountId },
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
    if (input.password) assertAcceptablePassword(password);
    let member = await findMemberByEmail(trx, email);
    if (member?.deleted_at) {
      throw conflict(
        `${email} belongs to a deleted member; restore the member before making them an administrator.`,
      );
    }
    if (!member) {
      member = await trx
        .insertInto("members")
        .values({ name: input.name.trim(), email, status: "active" })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordStatusChange(trx, member.id, null, "active", "administrator created", actorRef(actor));
    }
    const passwordHash = await hashPassword(password);
    const account = await trx
      .insertInto("accounts")
      .values({ member_id: member.id, password_hash: passwordHash, must_change_password: !input.password })
      .onConflict((oc) =>
        oc.column("member_id").doUpdateSet({
          password_hash: passwordHash,
          must_change_password: !input.password,
          disabled_at: null,
        }),
      )
      .returning("id")
      .executeTakeFirstOrThrow();
    await trx
      .updateTable("sessions")
      .set({ ended_at: sql`now()`, ended_reason: "admin_recovered" })
      .where("account_id", "=", account.id)
      .where("ended_at", "is", null)
      .execute();
    const roles = await activeRoleKeys(trx, member.id);
    if (!roles.includes("full_admin")) {
      await trx
        .insertInto("role_assignments")
        .values({ member_id: member.id, role_key: "full_admin", granted_by: actorRef(actor) })
        .execute();
    }
    return {
      result: { memberId: member.id, accountId: account.id, password },
      audit: {
        action: "admin.bootstrapped",
        subjectType: "member",
        subjectId: member.id,
        after: { email, role: "full_admin", rolesBefore: roles },
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
      throw new ClubError(
        "grant_exceeds_own",
        `You cannot grant ${role.name}: it carries ${missing.join(", ")}, which you do not hold yourself.`,
        403,
      );
    }
    if (!input.reason?.trim())
      throw invalidInput("Say why this role is granted; the reason is kept in the audit log.");
    const member = await trx
      .selectFrom("members")
      .select(["id", "deleted_at"])
      .where("id", "=", input.memberId)
      .executeTakeFirst();
    if (!member || member.deleted_at) throw notFound();
    const row = await trx
      .insertInto("role_assignments")
      .values({
        member_id: input.memberId,
        role_key: input.roleKey,
        starts_at: input.startsAt ?? sql`now()`,
        ends_at: input.endsAt ?? null,
        granted_by: actorRef(actor),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
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

/** Ends a role assignment now (permission rollback): the row stays as history. */
export const endRoleAssignment = defineAction({
  name: "endRoleAssignment",
  access: { capability: "roles:grant" },
  effect: "admin",
  async run({ trx, actor }, input: { assignmentId: string; reason: string }) {
    if (!input.reason?.trim())
      throw invalidInput("Say why this role ends; the reason is kept in the audit log.");
    const before = await trx
      .selectFrom("role_assignments")
      .selectAll()
      .where("id", "=", input.assignmentId)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw notFound();
    if (before.ends_at && new Date(before.ends_at) <= new Date())
      throw conflict("This role assignment has already ended.");
    const after = await trx
      .updateTable("role_assignments")
      .set({ ends_at: sql`greatest(now(), starts_at)`, ended_by: actorRef(actor), version: sql`version + 1` })
      .where("id", "=", input.assignmentId)
      .returningAll()
      .executeTakeFirstOrThrow();
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
    const row = await trx
      .insertInto("api_tokens")
      .values({
        member_id: member.id,
        name: input.name,
        token_hash: hashSecret(secret),
        capabilities: input.capabilities ?? null,
      })
      .returning(["id"])
      .executeTakeFirstOrThrow();
    return {
      result: { id: row.id, secret },
      audit: {
        action: "api_token.created",
        subjectType: "api_token",
        subjectId: row.id,
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
    const row = await trx
      .updateTable("api_tokens")
      .set({ revoked_at: sql`now()` })
      .where("id", "=", input.id)
      .where("revoked_at", "is", null)
      .returning(["id", "name"])
      .executeTakeFirst();
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
    const member = await trx
      .selectFrom("members")
      .select(["id", "deleted_at"])
      .where("id", "=", input.memberId)
      .executeTakeFirst();
    if (!member || member.deleted_at) throw notFound();
    const existing = await trx
      .selectFrom("accounts")
      .select("id")
      .where("member_id", "=", input.memberId)
      .executeTakeFirst();
    if (existing) throw conflict("This member already has a login account.");
    if (input.password) assertAcceptablePassword(input.password);
    const password = input.password ?? oneTimePassword();
    const row = await trx
      .insertInto("accounts")
      .values({
        member_id: input.memberId,
        password_hash: await hashPassword(password),
        must_change_password: !input.password,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return {
      result: { accountId: row.id, password },
      audit: {
        action: "account.created",
        subjectType: "account",
        subjectId: row.id,
        after: { memberId: input.memberId },
      },
    };
  },
});
