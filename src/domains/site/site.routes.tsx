import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { NO_DB } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { Query, Text } from "../../http/schema.ts";
import { HomeView } from "./site.views.tsx";

/** ?changed=password after a password change; any other value shows nothing more. */
const HomeQuery = Query({ changed: Type.Optional(Text(40)) });

/** The public home page. */
export function siteRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/",
    capability: "public",
    loadClass: "public",
    response: "html",
    // It reads nothing from the database yet, so it keeps answering through an outage (signed-in
    // visitors see it as visitors do while who they are cannot be checked).
    degraded: NO_DB,
    summary: "Home page",
    schema: { querystring: HomeQuery },
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Home",
        <HomeView
          page={pageContext(request)}
          clubName={request.server.ctx.config.clubName}
          passwordChanged={request.query.changed === "password"}
        />,
      ),
  });
}
