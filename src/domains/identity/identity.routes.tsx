import type { FastifyInstance } from "fastify";
import { runAction } from "../../core/action.ts";
import { ClubError, unauthenticated } from "../../core/errors.ts";
import { READ, RECOVERY } from "../../http/declarations.ts";
import { sendPage } from "../../http/page.tsx";
import { sameSitePath } from "../../http/redirects.ts";
import { declareRoute } from "../../http/routes.ts";
import { SESSION_COOKIE } from "./authenticate.ts";
import { changeOwnPassword, endOwnSession, startSession } from "./identity.actions.ts";
import { findAccountByEmail } from "./identity.repository.ts";
import { LoginView, PasswordView } from "./identity.views.tsx";
import { clearSessionCookie, logIn, setSessionCookie } from "./login.ts";
import { assertAcceptablePassword, hashPassword, verifyPassword } from "./passwords.ts";

// Login and logout keep working in read-only mode and while admin changes are frozen (O3).

/** Login, logout and password change pages, and /api/v1/me. */
export function identityRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/login",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "Login form",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Log in",
        <LoginView request={request} next={sameSitePath((request.query as { next?: string }).next)} />,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/login",
    capability: "public",
    loadClass: "member",
    response: "html",
    degraded: RECOVERY,
    summary: "Check email and password and start a new session",
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      const email = String(body.email ?? "");
      const next = sameSitePath(body.next);
      try {
        const outcome = await logIn(request.server.ctx, {
          email,
          password: String(body.password ?? ""),
          ip: request.ip,
          replacesToken: request.cookies[SESSION_COOKIE],
          requestId: request.id,
        });
        if (!outcome.ok) {
          return sendPage(
            request,
            reply,
            "Log in",
            <LoginView
              request={request}
              error="That email and password do not match. Please try again."
              email={email}
              next={next}
            />,
            401,
          );
        }
        setSessionCookie(request, reply, outcome.token);
        return reply.redirect(outcome.mustChangePassword ? "/account/password" : next, 303);
      } catch (error) {
        if (error instanceof ClubError && error.status === 429) {
          for (const [k, v] of Object.entries(error.headers ?? {})) reply.header(k, v);
          return sendPage(
            request,
            reply,
            "Log in",
            <LoginView request={request} error={error.message} email={email} next={next} />,
            429,
          );
        }
        throw error;
      }
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/logout",
    capability: "authenticated",
    loadClass: "member",
    response: "html",
    degraded: RECOVERY,
    summary: "End the current session",
    handler: async (request, reply) => {
      const { actor, sessionId } = request.auth;
      if (actor.type !== "member" || !sessionId) throw unauthenticated();
      const account = await request.server.ctx.database.db
        .selectFrom("accounts")
        .select("id")
        .where("member_id", "=", actor.memberId)
        .executeTakeFirstOrThrow();
      await runAction(request.server.ctx.actionEnv(actor, request.id), endOwnSession, {
        sessionId,
        accountId: account.id,
      });
      clearSessionCookie(reply);
      return reply.redirect("/", 303);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/account/password",
    capability: "authenticated",
    loadClass: "member",
    response: "html",
    degraded: READ,
    summary: "Change-password form",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Change password",
        <PasswordView request={request} forced={request.auth.mustChangePassword} />,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/account/password",
    capability: "authenticated",
    loadClass: "member",
    response: "html",
    degraded: { readOnly: "refused", databaseDown: "503", frozenBy: "none" },
    summary: "Change one's own password; other sessions end and this one gets a new token",
    handler: async (request, reply) => {
      const { actor, sessionId } = request.auth;
      if (actor.type !== "member") throw unauthenticated();
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      const ctx = request.server.ctx;
      const member = await ctx.database.db
        .selectFrom("members")
        .select("email")
        .where("id", "=", actor.memberId)
        .executeTakeFirstOrThrow();
      const account = await findAccountByEmail(ctx.database.db, member.email);
      const show = (error: string, status: number) =>
        sendPage(request, reply, "Change password", <PasswordView request={request} error={error} />, status);
      if (!account || !(await verifyPassword(account.passwordHash, String(body.current ?? "")))) {
        return show("Your current password is not right.", 400);
      }
      const password = String(body.password ?? "");
      if (password !== String(body.confirm ?? ""))
        return show("The two new passwords are not the same.", 400);
      try {
        assertAcceptablePassword(password);
      } catch (error) {
        if (error instanceof ClubError) return show(error.message, 400);
        throw error;
      }
      const env = ctx.actionEnv(actor, request.id);
      await runAction(env, changeOwnPassword, {
        accountId: account.accountId,
        newHash: await hashPassword(password),
      });
      // Every session ended above, this one too; a fresh token continues the visit.
      const { token } = await runAction(env, startSession, {
        accountId: account.accountId,
        absoluteHours: ctx.config.sessionAbsoluteHours,
        ip: request.ip,
        replaces: sessionId,
      });
      setSessionCookie(request, reply, token);
      return reply.redirect("/?changed=password", 303);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/me",
    capability: "authenticated",
    loadClass: "member",
    response: "json",
    degraded: READ,
    summary: "Who the caller is and what they may do",
    handler: async (request) => {
      const { actor } = request.auth;
      if (actor.type !== "member") throw unauthenticated();
      return { memberId: actor.memberId, name: actor.name, capabilities: [...actor.capabilities].sort() };
    },
  });
}
