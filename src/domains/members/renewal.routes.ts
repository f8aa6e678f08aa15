import type { FastifyInstance } from "fastify";
import { ADMIN_WRITE, ID } from "../../http/declarations.ts";
import { idempotentJson, oncePerFormToken } from "../../http/idempotent-reply.ts";
import { declareRoute } from "../../http/routes.ts";
import { versionFrom } from "../../http/versions.ts";
import { renewMembership } from "./renewal.actions.ts";

/** The version a form field or an If-Match header names (W-4); undefined when none was sent. */
function versionOf(value: unknown): number | undefined {
  const n = versionFrom(value, false);
  return Number.isNaN(n) ? undefined : n;
}

/** Renewing a membership from the admin member page and the JSON API. */
export function renewalRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "POST",
    url: "/admin/members/:id/renew",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: ADMIN_WRITE,
    summary: "Renew a membership by its tier's period; a lapsed member becomes active (once per form)",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as Record<string, unknown>;
      return oncePerFormToken(
        request,
        reply,
        renewMembership,
        {
          memberId: id,
          version: versionOf(body.version),
          timeZone: request.server.ctx.config.timeZone,
          reason: body.reason === undefined ? undefined : String(body.reason),
        },
        () => `/admin/members/${id}?saved=1`,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/:id/renew",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Renew a membership (If-Match optional; Idempotency-Key supported)",
    schema: {
      params: ID,
      body: {
        type: ["object", "null"],
        additionalProperties: false,
        properties: { reason: { type: "string", maxLength: 1000 } },
      },
    },
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as { reason?: string };
      return idempotentJson(
        request,
        reply,
        renewMembership,
        {
          memberId: (request.params as { id: string }).id,
          version: versionOf(request.headers["if-match"]),
          timeZone: request.server.ctx.config.timeZone,
          reason: body.reason,
        },
        (member) => ({ status: 200, body: member }),
      );
    },
  });
}
