import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS, IDEMPOTENCY_KEY, IF_MATCH } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { ifMatch } from "./members.api.ts";
import { presentRenewal } from "./members.presenters.ts";
import { RenewBody, RenewedMemberOut, RenewForm } from "./members.schemas.ts";
import { renewMembership } from "./renewal.actions.ts";

const VersionHeaders = Type.Object({ "if-match": IF_MATCH, "idempotency-key": IDEMPOTENCY_KEY });

/** Renewing a membership from the admin member page and the JSON API. */
export function renewalRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "POST",
    url: "/admin/members/:id/renew",
    action: renewMembership,
    loadClass: "admin",
    response: "html",
    summary: "Renew a membership by its tier's period; a lapsed member becomes active (once per form)",
    schema: { params: ID_PARAMS, body: RenewForm },
    handler: async (request, reply, action) => {
      const { id } = request.params;
      const version = versionFrom(request.body.version, false);
      return action.oncePerForm(
        reply,
        {
          memberId: id,
          version: Number.isNaN(version) ? undefined : version,
          timeZone: request.server.ctx.config.timeZone,
          reason: request.body.reason,
        },
        () => `/admin/members/${id}?done=saved`,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/:id/renew",
    action: renewMembership,
    loadClass: "admin",
    response: "json",
    summary: "Renew a membership (If-Match optional; Idempotency-Key supported)",
    schema: {
      params: ID_PARAMS,
      body: RenewBody,
      headers: VersionHeaders,
      response: { 200: RenewedMemberOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        {
          memberId: request.params.id,
          version: ifMatch(request),
          timeZone: request.server.ctx.config.timeZone,
          reason: request.body?.reason,
        },
        (member) => ({ status: 200, body: presentRenewal(member) }),
      ),
  });
}
