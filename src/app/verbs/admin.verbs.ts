import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { invalidInput } from "../../core/errors.ts";
import {
  bootstrapAdmin,
  createApiToken,
  endRoleAssignment,
  grantRole,
  revokeApiToken,
} from "../../domains/identity/identity.actions.ts";
import { findMemberByEmail, roleAssignmentsOf } from "../../domains/identity/identity.repository.ts";
import { unthrottleLogin } from "../../domains/identity/login.actions.ts";
import type { CliEnv } from "../cli.ts";

/** `clubos admin create`. */
export function registerAdminVerbs(admin: Command, env: CliEnv): void {
  admin
    .command("create")
    .description(
      "Create an administrator, or give an existing member admin access and a new one-time password",
    )
    .requiredOption("--email <email>", "the administrator's email")
    .requiredOption("--name <name>", "the administrator's name")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .option("--reason <text>", "why", "administrator access created or recovered from the command line")
    .action(async (o: { email: string; name: string; actor: string; reason: string }) => {
      const result = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), bootstrapAdmin, {
          email: o.email,
          name: o.name,
          reason: o.reason,
        }),
      );
      env.io.out(`Administrator ${o.email} is ready. One-time password (shown only now): ${result.password}`);
      env.io.out("They must choose their own password at first login.");
    });
  admin
    .command("unthrottle")
    .description("Lift the login slow-down on an account (after too many wrong passwords)")
    .requiredOption("--email <email>", "the account's email")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .option("--reason <text>", "why", "login throttle cleared from the command line")
    .action(async (o: { email: string; actor: string; reason: string }) => {
      const result = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), unthrottleLogin, {
          email: o.email,
          reason: o.reason,
        }),
      );
      env.io.out(
        result.cleared > 0
          ? `Sign-ins to ${o.email} are no longer slowed down; they can log in again now.`
          : `Sign-ins to ${o.email} were not slowed down; nothing to clear.`,
      );
      if (!result.known) env.io.out(`Note: no member has the email ${o.email}.`);
    });
}

/** `clubos token create|revoke`. */
export function registerTokenVerbs(token: Command, env: CliEnv): void {
  token
    .command("create")
    .description("Create a token for a member; the secret is shown once")
    .requiredOption("--member <email>", "the member the token acts as")
    .requiredOption("--name <name>", "a name to recognise the token by")
    .option("--capabilities <list>", "comma-separated capabilities to narrow the token to")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (o: { member: string; name: string; capabilities?: string; actor: string }) => {
      const capabilities = o.capabilities
        ?.split(",")
        .map((c) => c.trim())
        .filter(Boolean);
      const result = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), createApiToken, {
          memberEmail: o.member,
          name: o.name,
          capabilities,
        }),
      );
      env.io.out(`Token ${result.id} created. Secret (shown only now): ${result.secret}`);
      env.io.out("Send it as: Authorization: Bearer <secret>");
    });
  token
    .command("revoke")
    .description("Revoke a token at once")
    .requiredOption("--id <id>", "the token's id")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (o: { id: string; actor: string }) => {
      await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), revokeApiToken, { id: o.id }),
      );
      env.io.out(`Token ${o.id} revoked.`);
    });
}

/** `clubos roles grant|end|list`. */
export function registerRolesVerbs(roles: Command, env: CliEnv): void {
  roles
    .command("grant")
    .description("Grant a built-in role to a member")
    .requiredOption("--member <email>", "the member")
    .requiredOption(
      "--role <key>",
      "member, events_chair, membership_chair, web_editor, full_admin or operator",
    )
    .requiredOption("--reason <text>", "why (kept in the audit log)")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (o: { member: string; role: string; reason: string; actor: string }) => {
      const row = await env.withRuntime(async (ctx) => {
        const member = await findMemberByEmail(ctx.database.db, o.member);
        if (!member) throw invalidInput(`No member has the email ${o.member}.`);
        return runAction(ctx.actionEnv(operatorActor(o.actor)), grantRole, {
          memberId: member.id,
          roleKey: o.role,
          reason: o.reason,
        });
      });
      env.io.out(`Granted ${row.role_key} to ${o.member} (assignment ${row.id}).`);
    });
  roles
    .command("end")
    .description("End a role assignment now (permission rollback)")
    .requiredOption("--assignment <id>", "the assignment id")
    .requiredOption("--reason <text>", "why (kept in the audit log)")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (o: { assignment: string; reason: string; actor: string }) => {
      await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), endRoleAssignment, {
          assignmentId: o.assignment,
          reason: o.reason,
        }),
      );
      env.io.out(`Assignment ${o.assignment} ended.`);
    });
  roles
    .command("list")
    .description("List a member's role assignments")
    .requiredOption("--member <email>", "the member")
    .action(async (o: { member: string }) => {
      await env.withRuntime(async (ctx) => {
        const member = await findMemberByEmail(ctx.database.db, o.member);
        if (!member) throw invalidInput(`No member has the email ${o.member}.`);
        for (const r of await roleAssignmentsOf(ctx.database.db, member.id)) {
          env.io.out(
            `${r.id} ${r.role_key.padEnd(16)} from ${new Date(r.starts_at).toISOString()} to ${r.ends_at ? new Date(r.ends_at).toISOString() : "open"} by ${r.granted_by}`,
          );
        }
      });
    });
}
