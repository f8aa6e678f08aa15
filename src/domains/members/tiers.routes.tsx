import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { declareRoute } from "../../http/routes.ts";
import { FormBody } from "../../http/schema.ts";
import { setTierJoinRule } from "./tiers.actions.ts";

/** A tier's key in a path. */
const TierParams = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 60, pattern: "^[a-z][a-z0-9_]*$" }),
});

/** How approved applications of a tier start. */
const TierJoinRuleForm = FormBody({ status: Type.Union([Type.Literal("pending"), Type.Literal("active")]) });

/** The tier rule of the club settings page: how approved join applications of each tier start. */
export function tierRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "POST",
    url: "/admin/tiers/:key/join-status",
    action: setTierJoinRule,
    loadClass: "admin",
    response: "html",
    summary: "Say whether approved join applications of a tier start pending or active (audited)",
    schema: { params: TierParams, body: TierJoinRuleForm },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        { tierKey: request.params.key, status: request.body.status },
        () => "/admin/settings?done=tier_changed",
      ),
  });
}
