import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { EMPTY_FORM, ID_PARAMS } from "../../http/schema.ts";
import { feedEvents, feedTokenOwner, feedTokenStatus, findVisibleEvent } from "./events.repository.ts";
import { rotateFeedToken } from "./ical.actions.ts";
import { type CalendarEvent, renderCalendar } from "./ical.ts";
import { FeedTokenCreated, FeedTokenSection } from "./ical.views.tsx";

/** A personal feed token as it appears in the address (ical.actions.ts makes 64 hex digits). */
const TokenParams = Type.Object({ token: Type.String({ pattern: "^[0-9a-f]{64}$", maxLength: 64 }) });

const baseUrl = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

function sendCalendar(
  request: FastifyRequest,
  reply: FastifyReply,
  events: CalendarEvent[],
  name: string,
  cache: string,
) {
  return reply
    .type("text/calendar; charset=utf-8")
    .header("Cache-Control", cache)
    .send(renderCalendar({ name, baseUrl: baseUrl(request), events }));
}

/** The public calendar feed, one event's .ics file, and the members' personal feed. */
export function icalRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/events.ics",
    capability: "public",
    loadClass: "public",
    response: "text",
    degraded: READ,
    summary: "Public calendar feed: published public events only",
    handler: async (request, reply) => {
      const events = await feedEvents(request.server.ctx.database.db, false);
      // The same bytes for everyone (it ignores who asks), so shared caches may keep it briefly.
      const name = `${request.server.ctx.config.clubName} events`;
      return sendCalendar(request, reply, events, name, "public, max-age=300");
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/events/:id.ics",
    capability: "public",
    loadClass: "public",
    response: "text",
    degraded: READ,
    summary: "One event as an .ics file; 404 whenever the event page would be",
    schema: { params: ID_PARAMS },
    handler: async (request, reply) => {
      const { actor } = request.auth;
      const event = await findVisibleEvent(
        request.server.ctx.database.db,
        request.params.id,
        actor.type === "member",
        actor.capabilities.has("events:manage"),
      );
      if (!event) throw notFound();
      reply.header("Content-Disposition", `attachment; filename="event-${event.id}.ics"`);
      // What it shows depends on who asks: never kept by a shared cache.
      return sendCalendar(request, reply, [event], event.title, "private, no-store");
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/members/feed/:token.ics",
    capability: "public", // the secret token in the address is the credential
    loadClass: "member",
    response: "text",
    degraded: READ,
    summary: "A member's personal calendar feed (public and members-only events); unknown token 404",
    schema: { params: TokenParams },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const owner = await feedTokenOwner(db, hashSecret(request.params.token));
      if (!owner) throw notFound();
      reply.header("X-Robots-Tag", "noindex");
      const name = `${request.server.ctx.config.clubName} events (members)`;
      return sendCalendar(request, reply, await feedEvents(db, true), name, "private, no-store");
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/members/me/feed-token",
    action: rotateFeedToken,
    loadClass: "member",
    response: "html",
    summary: "Create or replace my personal calendar feed address (the old one stops working)",
    schema: { body: EMPTY_FORM },
    handler: async (request, reply, action) => {
      const { token } = await action.run({});
      const url = `${baseUrl(request)}/members/feed/${token}.ics`;
      return sendPage(request, reply, "Your calendar address", FeedTokenCreated({ url }));
    },
  });
}

/** The calendar-feed section of a member's own details page (wired in by the app, src/app/server.ts). */
export async function calendarFeedSection(request: FastifyRequest) {
  const { actor } = request.auth;
  if (actor.type !== "member") return null;
  const feed = await feedTokenStatus(request.server.ctx.database.db, actor.memberId);
  return <FeedTokenSection page={pageContext(request)} since={feed?.updated_at} />;
}
