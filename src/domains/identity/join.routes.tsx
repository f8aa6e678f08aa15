import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { runAction } from "../../core/action.ts";
import { ClubError, notFound } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { READ, WRITE } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { EMPTY_FORM, ID_PARAMS, Query } from "../../http/schema.ts";
import { listTiers } from "../members/members.repository.ts";
import { readClubSettings } from "../settings/settings.repository.ts";
import { claimFormRequest } from "./form-throttle.ts";
import { LinkParams } from "./identity.schemas.ts";
import {
  applyToJoin,
  approveApplication,
  confirmApplication,
  JOIN_CONFIRM_HOURS,
  JOIN_FORM,
  joinLinkNotUsable,
  rejectApplication,
} from "./join.actions.ts";
import { joinConfirmPath } from "./join.messages.ts";
import { findUnconfirmed, listWaitingApplications } from "./join.repository.ts";
import { JoinForm, RejectApplicationForm } from "./join.schemas.ts";
import {
  ApplicationConfirmedView,
  ConfirmApplicationView,
  JoinFormView,
  JoinLinkDeadView,
  JoinQueueView,
  JoinThanksView,
} from "./join.views.tsx";
import { declareLinkIssuingRoute, linkSettings } from "./link-issuing.routes.tsx";

const QUEUE_PAGE = 200;

/** The join form exists only while an admin has it open: closed, it is "not found" like any page. */
async function requireOpenForm(request: FastifyRequest): Promise<void> {
  if (!(await readClubSettings(request.server.ctx.database.db)).joinFormOpen) throw notFound();
}

async function tierChoices(request: FastifyRequest) {
  return (await listTiers(request.server.ctx.database.db)).map((t) => ({ key: t.key, name: t.name }));
}

const thanks = (request: FastifyRequest, reply: FastifyReply) =>
  sendPage(request, reply, "Thank you for applying", <JoinThanksView hours={JOIN_CONFIRM_HOURS} />);

const deadLink = (request: FastifyRequest, reply: FastifyReply) =>
  sendPage(
    request,
    reply,
    "Confirm your application",
    <JoinLinkDeadView message={joinLinkNotUsable().message} />,
    404,
  );

/** The public join form, its confirmation links, and the admin queue of confirmed applications. */
export function joinRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/join",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "The public join form (not found while an admin has it closed)",
    handler: async (request, reply) => {
      await requireOpenForm(request);
      const clubName = request.server.ctx.config.clubName;
      return sendPage(
        request,
        reply,
        "Apply to join",
        <JoinFormView page={pageContext(request)} clubName={clubName} tiers={await tierChoices(request)} />,
      );
    },
  });

  // The same answer for a new address, a member's address and a filled honeypot (which writes nothing).
  declareRoute(app, {
    method: "POST",
    url: "/join",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: WRITE,
    summary:
      "Apply to join: a confirmation link goes to the address (a member's address is told instead; the answer never says)",
    schema: { body: JoinForm },
    handler: async (request, reply) => {
      await requireOpenForm(request);
      const body = request.body;
      if (body.website) return thanks(request, reply);
      const ctx = request.server.ctx;
      const email = body.email ?? "";
      await claimFormRequest(ctx.database.db, { form: "join", ip: request.ip, email });
      try {
        await runAction(ctx.actionEnv(JOIN_FORM, request.id), applyToJoin, {
          name: body.name ?? "",
          email,
          phone: body.phone ?? "",
          tierKey: body.tier ?? "",
          message: body.message ?? "",
          settings: linkSettings(request),
        });
      } catch (error) {
        if (!(error instanceof ClubError) || error.code !== "invalid_input") throw error;
        return sendPage(
          request,
          reply,
          "Apply to join",
          <JoinFormView
            page={pageContext(request)}
            clubName={ctx.config.clubName}
            tiers={await tierChoices(request)}
            values={body}
            error={error.message}
          />,
          400,
        );
      }
      return thanks(request, reply);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/join/confirm/:token",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary:
      'The page behind a join confirmation link (the same "no longer works" page for any that does not)',
    schema: { params: LinkParams },
    handler: async (request, reply) => {
      const { token } = request.params;
      const application = await findUnconfirmed(request.server.ctx.database.db, hashSecret(token));
      if (!application) return deadLink(request, reply);
      return sendPage(
        request,
        reply,
        "Confirm your application",
        <ConfirmApplicationView
          page={pageContext(request)}
          name={application.name}
          action={joinConfirmPath(token)}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/join/confirm/:token",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: WRITE,
    summary: "Confirm a join application's email address: it joins the admin queue (the link works once)",
    schema: { params: LinkParams, body: EMPTY_FORM },
    handler: async (request, reply) => {
      const ctx = request.server.ctx;
      try {
        await runAction(ctx.actionEnv(JOIN_FORM, request.id), confirmApplication, {
          token: request.params.token,
        });
      } catch (error) {
        if (error instanceof ClubError && error.code === "join_link_not_usable")
          return deadLink(request, reply);
        throw error;
      }
      return sendPage(request, reply, "Application confirmed", <ApplicationConfirmedView />);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/join-applications",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Confirmed join applications waiting for a decision, oldest first",
    schema: { querystring: Query({ done: Type.Optional(Type.Literal("rejected")) }) },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const [applications, settings] = await Promise.all([
        listWaitingApplications(db, QUEUE_PAGE),
        readClubSettings(db),
      ]);
      return sendPage(
        request,
        reply,
        "Join applications",
        <JoinQueueView
          page={pageContext(request)}
          applications={applications}
          formOpen={settings.joinFormOpen}
          done={request.query.done}
        />,
      );
    },
  });

  declareLinkIssuingRoute(app, {
    url: "/admin/join-applications/:id/approve",
    action: approveApplication,
    purpose: "invitation",
    summary:
      "Approve a join application: the member is made (pending or active per their tier) and invited; the link is shown once without a mail server",
    title: "Application approved",
    input: (applicationId, settings) => ({ applicationId, settings }),
    back: () => "/admin/join-applications",
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/join-applications/:id/reject",
    action: rejectApplication,
    loadClass: "admin",
    response: "html",
    summary: "Reject a join application with a reason; the applicant is told by mail",
    schema: { params: ID_PARAMS, body: RejectApplicationForm },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        {
          applicationId: request.params.id,
          reason: request.body.reason ?? "",
          settings: linkSettings(request),
        },
        () => "/admin/join-applications?done=rejected",
      ),
  });
}
