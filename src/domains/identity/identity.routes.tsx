import type { FastifyInstance } from "fastify";
import { SIGNED_IN_MEMBER } from "../../core/access.ts";
import { ClubError, unauthenticated } from "../../core/errors.ts";
import { READ, RECOVERY } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { sameSitePath } from "../../http/redirects.ts";
import { declareRoute, routePolicy } from "../../http/routes.ts";
import { EMPTY_FORM } from "../../http/schema.ts";
import { SESSION_COOKIE } from "./authenticate.ts";
import { changeOwnPassword, endOwnSession } from "./identity.actions.ts";
import { presentMe } from "./identity.presenters.ts";
import { LoginForm, LoginQuery, MeOut, PasswordForm } from "./identity.schemas.ts";
import { LoginView, PasswordView } from "./identity.views.tsx";
import { clearSessionCookie, DEVICE_COOKIE, logIn, setDeviceCookie, setSessionCookie } from "./login.ts";

// Login and logout keep working in read-only mode and while admin changes are frozen (O3).

/** What the login page says after a password was set through a link. */
const LOGIN_NOTICES = {
  password_set: "Your password is set. Sign in with your email and your new password.",
  password_reset: "Your new password is set, and you were signed out everywhere else. Sign in with it now.",
} as const;

/** Read routes for the signed-in member's own account. */
const OWN_ACCOUNT = routePolicy(SIGNED_IN_MEMBER, () => ({}));

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
    schema: { querystring: LoginQuery },
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Log in",
        <LoginView
          page={pageContext(request)}
          next={sameSitePath(request.query.next)}
          notice={request.query.done ? LOGIN_NOTICES[request.query.done] : undefined}
        />,
      ),
  });

  // The way in has no action of its own: logIn checks the throttles and the password, then runs the
  // startSession action as the member it found.
  declareRoute(app, {
    method: "POST",
    url: "/login",
    capability: "public",
    loadClass: "member",
    response: "html",
    degraded: RECOVERY,
    summary: "Check email and password and start a new session",
    schema: { body: LoginForm },
    handler: async (request, reply) => {
      const email = request.body.email ?? "";
      const next = sameSitePath(request.body.next);
      const page = pageContext(request);
      try {
        const outcome = await logIn(request.server.ctx, {
          email,
          password: request.body.password ?? "",
          ip: request.ip,
          replacesToken: request.cookies[SESSION_COOKIE],
          deviceToken: request.cookies[DEVICE_COOKIE],
          requestId: request.id,
        });
        if (!outcome.ok) {
          return sendPage(
            request,
            reply,
            "Log in",
            <LoginView
              page={page}
              error="That email and password do not match. Please try again."
              email={email}
              next={next}
            />,
            401,
          );
        }
        setSessionCookie(request, reply, outcome.token);
        if (outcome.deviceToken) setDeviceCookie(request, reply, outcome.deviceToken);
        return reply.redirect(outcome.mustChangePassword ? "/account/password" : next, 303);
      } catch (error) {
        if (error instanceof ClubError && error.status === 429) {
          for (const [k, v] of Object.entries(error.headers ?? {})) reply.header(k, v);
          return sendPage(
            request,
            reply,
            "Log in",
            <LoginView page={page} error={error.message} email={email} next={next} />,
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
    action: endOwnSession,
    loadClass: "member",
    response: "html",
    summary: "End the current session",
    schema: { body: EMPTY_FORM },
    handler: async (request, reply, action) => {
      // A bearer token has no session to end; only a browser logs out.
      const { sessionId } = request.auth;
      if (!sessionId) throw unauthenticated();
      await action.run({ sessionId });
      clearSessionCookie(reply);
      return reply.redirect("/", 303);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/account/password",
    capability: "authenticated",
    policy: OWN_ACCOUNT,
    loadClass: "member",
    response: "html",
    degraded: READ,
    summary: "Change-password form",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Change password",
        <PasswordView page={pageContext(request)} forced={request.auth.mustChangePassword} />,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/account/password",
    action: changeOwnPassword,
    loadClass: "member",
    response: "html",
    summary: "Change one's own password; other sessions end and this one gets a new token",
    schema: { body: PasswordForm },
    handler: async (request, reply, action) => {
      try {
        const { token } = await action.run({
          current: request.body.current ?? "",
          password: request.body.password ?? "",
          confirm: request.body.confirm ?? "",
          absoluteHours: request.server.ctx.config.sessionAbsoluteHours,
          ip: request.ip,
        });
        setSessionCookie(request, reply, token);
        return reply.redirect("/?changed=password", 303);
      } catch (error) {
        // A wrong current password or an unacceptable new one: the form again, saying which.
        if (!(error instanceof ClubError) || error.code !== "invalid_input") throw error;
        return sendPage(
          request,
          reply,
          "Change password",
          <PasswordView page={pageContext(request)} error={error.message} />,
          400,
        );
      }
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/me",
    capability: "authenticated",
    policy: OWN_ACCOUNT,
    loadClass: "member",
    response: "json",
    degraded: READ,
    summary: "Who the caller is and what they may do",
    schema: { response: { 200: MeOut } },
    handler: async (request) => {
      const { actor } = request.auth;
      if (actor.type !== "member") throw unauthenticated(); // narrows the type: the policy admits members
      return presentMe(actor);
    },
  });
}
