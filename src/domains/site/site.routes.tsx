import type { FastifyInstance } from "fastify";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";

/** The public home page. */
export function siteRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: { readOnly: "serves", databaseDown: "503", frozenBy: "none" },
    summary: "Home page",
    handler: async (request, reply) => {
      const { actor } = request.auth;
      const club = request.server.ctx.config.clubName;
      const changed = (request.query as { changed?: string }).changed === "password";
      return sendPage(
        request,
        reply,
        "Home",
        <section>
          <h1>Welcome to {club}</h1>
          {changed ? <p class="notice">Your password was changed. Other sessions were signed out.</p> : null}
          {actor.type === "member" ? (
            <p>You are signed in as {actor.name}.</p>
          ) : (
            <p>
              Members can <a href="/login">log in</a> to see member pages and register for events.
            </p>
          )}
        </section>,
      );
    },
  });
}
