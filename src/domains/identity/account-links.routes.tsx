import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { runAction } from "../../core/action.ts";
import type { Actor } from "../../core/actor.ts";
import { ClubError } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { READ, WRITE } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { EMPTY_FORM, ID_PARAMS } from "../../http/schema.ts";
import {
  acceptInvitation,
  completePasswordReset,
  FORGOT_PASSWORD_FORM,
  inviteMember,
  inviteMembers,
  requestPasswordReset,
  revokeInvitation,
  sendPasswordReset,
} from "./account-links.actions.ts";
import { findOpenLink, type LinkPurpose } from "./account-links.repository.ts";
import { ForgotPasswordView, LinkDeadView, LinksSentView, SetPasswordView } from "./account-links.views.tsx";
import { claimFormRequest } from "./form-throttle.ts";
import { linkNotUsable } from "./identity.policies.ts";
import { ForgotPasswordForm, InviteListForm, LinkParams, NewPasswordForm } from "./identity.schemas.ts";
import { declareLinkIssuingRoute, linkSettings } from "./link-issuing.routes.tsx";

const PATHS: Record<LinkPurpose, string> = { invitation: "/invitation", password_reset: "/password-reset" };
const ACTIONS = { invitation: acceptInvitation, password_reset: completePasswordReset } as const;

/** The page of a link that does not work: one page and one status (404) for every reason. */
function deadLink(request: FastifyRequest, reply: FastifyReply, purpose: LinkPurpose) {
  const title = purpose === "invitation" ? "Invitation" : "Password reset";
  return sendPage(
    request,
    reply,
    title,
    <LinkDeadView purpose={purpose} message={linkNotUsable(purpose).message} />,
    404,
  );
}

/** The two routes of one kind of link: its form, and setting the password through it. They are public
 * (the person has no login, or lost it): the open link names the member, and its action runs as them. */
function linkRoutes(app: FastifyInstance, purpose: LinkPurpose): void {
  const what = purpose === "invitation" ? "an invitation" : "a password reset";
  const title = purpose === "invitation" ? "Choose your password" : "Choose a new password";
  declareRoute(app, {
    method: "GET",
    url: `${PATHS[purpose]}/:token`,
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: `The form behind ${what} link (the same "no longer works" page for any link that does not)`,
    schema: { params: LinkParams },
    handler: async (request, reply) => {
      const link = await findOpenLink(
        request.server.ctx.database.db,
        hashSecret(request.params.token),
        purpose,
      );
      if (!link) return deadLink(request, reply, purpose);
      return sendPage(
        request,
        reply,
        title,
        <SetPasswordView
          page={pageContext(request)}
          purpose={purpose}
          name={link.name}
          email={link.email}
          action={`${PATHS[purpose]}/${request.params.token}`}
        />,
      );
    },
  });

  // No action of its own, like the login: the link names the member, and their action runs as them.
  declareRoute(app, {
    method: "POST",
    url: `${PATHS[purpose]}/:token`,
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: WRITE,
    summary: `Set a password through ${what} link (used up in the same transaction, audited)`,
    schema: { params: LinkParams, body: NewPasswordForm },
    handler: async (request, reply) => {
      const { token } = request.params;
      const ctx = request.server.ctx;
      const link = await findOpenLink(ctx.database.db, hashSecret(token), purpose);
      if (!link) return deadLink(request, reply, purpose);
      const actor: Actor = {
        type: "member",
        memberId: link.memberId,
        name: link.name,
        capabilities: new Set(),
      };
      try {
        await runAction(ctx.actionEnv(actor, request.id), ACTIONS[purpose], {
          token,
          password: request.body.password ?? "",
          confirm: request.body.confirm ?? "",
        });
      } catch (error) {
        if (!(error instanceof ClubError)) throw error;
        if (error.code === "link_not_usable") return deadLink(request, reply, purpose);
        if (error.code !== "invalid_input" && error.code !== "already_has_login") throw error;
        return sendPage(
          request,
          reply,
          title,
          <SetPasswordView
            page={pageContext(request)}
            purpose={purpose}
            name={link.name}
            email={link.email}
            action={`${PATHS[purpose]}/${token}`}
            error={error.message}
          />,
          error.status,
        );
      }
      return reply.redirect(
        `/login?done=${purpose === "invitation" ? "password_set" : "password_reset"}`,
        303,
      );
    },
  });
}

/** Invitations and password resets: the public link pages, "Forgot your password?", and the admin's
 * invite, resend, revoke and send-a-reset. */
export function accountLinkRoutes(app: FastifyInstance): void {
  linkRoutes(app, "invitation");
  linkRoutes(app, "password_reset");

  declareRoute(app, {
    method: "GET",
    url: "/password-reset",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "Forgot-password form",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Forgot your password?",
        <ForgotPasswordView
          page={pageContext(request)}
          minutes={request.server.ctx.config.passwordResetMinutes}
        />,
      ),
  });

  // The same answer whatever the address: requestPasswordReset does the same work either way, and the
  // rate limit counts every request alike.
  declareRoute(app, {
    method: "POST",
    url: "/password-reset",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: WRITE,
    summary: "Send a password-reset link to an address, if it has a login (the answer never says)",
    schema: { body: ForgotPasswordForm },
    handler: async (request, reply) => {
      const ctx = request.server.ctx;
      const email = request.body.email ?? "";
      await claimFormRequest(ctx.database.db, { form: "password_reset", ip: request.ip, email });
      await runAction(ctx.actionEnv(FORGOT_PASSWORD_FORM, request.id), requestPasswordReset, {
        email,
        settings: linkSettings(request),
      });
      return sendPage(
        request,
        reply,
        "Forgot your password?",
        <ForgotPasswordView page={pageContext(request)} asked minutes={ctx.config.passwordResetMinutes} />,
      );
    },
  });

  declareLinkIssuingRoute(app, {
    url: "/admin/members/:id/invite",
    action: inviteMember,
    purpose: "invitation",
    summary:
      "Invite a member, or send a new invitation (the old link stops working); the link is shown once without a mail server",
    title: "Invitation",
    input: (memberId, settings) => ({ memberId, settings }),
    back: (issued) => `/admin/members/${issued.memberId}`,
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/:id/invite/revoke",
    action: revokeInvitation,
    loadClass: "admin",
    response: "html",
    summary: "Revoke a member's open invitation: its link stops working at once",
    schema: { params: ID_PARAMS, body: EMPTY_FORM },
    handler: async (request, reply, action) => {
      const { id } = request.params;
      return action.oncePerForm(
        reply,
        { memberId: id },
        () => `/admin/members/${id}?done=invitation_revoked`,
      );
    },
  });

  declareLinkIssuingRoute(app, {
    url: "/admin/members/:id/password-reset",
    action: sendPasswordReset,
    purpose: "password_reset",
    summary: "Send a member a password-reset link; the link is shown once without a mail server",
    title: "Password reset",
    input: (memberId, settings) => ({ memberId, settings }),
    back: (issued) => `/admin/members/${issued.memberId}`,
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/invite",
    action: inviteMembers,
    loadClass: "admin",
    response: "html",
    summary: "Invite every member of a filtered list who has no login and no open invitation",
    schema: { body: InviteListForm },
    handler: async (request, reply, action) => {
      const body = request.body;
      const outcome = await action.run({
        filter: {
          search: body.search?.trim() || undefined,
          status: body.status && body.status !== "deleted" ? body.status : undefined,
          deleted: body.status === "deleted",
          tier: body.tier || undefined,
          committeeId: body.committee || undefined,
        },
        settings: linkSettings(request),
      });
      const leftOut = [
        outcome.alreadyLogin ? `${outcome.alreadyLogin} already have a login (left as they are).` : "",
        outcome.alreadyInvited
          ? `${outcome.alreadyInvited} already have an open invitation (resend from their page if needed).`
          : "",
        outcome.outranks
          ? `${outcome.outranks} hold permissions you do not hold; a full administrator can invite them.`
          : "",
      ].filter(Boolean);
      return sendPage(
        request,
        reply,
        "Invitations",
        <LinksSentView
          page={pageContext(request)}
          purpose="invitation"
          sent={outcome.invited}
          leftOut={leftOut}
          back="/admin/members"
        />,
      );
    },
  });
}
