import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { ID, READ, WRITE } from "../../http/declarations.ts";
import { idempotentJson, oncePerFormToken } from "../../http/idempotent-reply.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { cancelRegistration, createEvent, type EventInput, registerForEvent } from "./events.actions.ts";
import { activeRegistration, eventCounts, findVisibleEvent, listVisibleEvents } from "./events.repository.ts";
import { EventList, EventPage } from "./events.views.tsx";

const isMember = (request: FastifyRequest) => request.auth.actor.type === "member";
const canManage = (request: FastifyRequest) => request.auth.actor.capabilities.has("events:manage");

/** Event pages, the events JSON API and registration. */
export function eventRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/events",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "Events a visitor may see",
    handler: async (request, reply) => {
      const events = await listVisibleEvents(request.server.ctx.database.db, isMember(request));
      return sendPage(
        request,
        reply,
        "Events",
        <EventList events={events} timeZone={request.server.ctx.config.timeZone} />,
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/events/:id",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "One event; members-only and draft events are 404 to those who may not see them",
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const ctx = request.server.ctx;
      const event = await findVisibleEvent(ctx.database.db, id, isMember(request), canManage(request));
      if (!event) throw notFound();
      const actor = request.auth.actor;
      const mine =
        actor.type === "member"
          ? await activeRegistration(ctx.database.db, event.id, actor.memberId)
          : undefined;
      const q = request.query as { done?: string };
      const notice =
        q.done === "registered"
          ? "You are registered."
          : q.done === "cancelled"
            ? "Your registration is cancelled."
            : undefined;
      return sendPage(
        request,
        reply,
        event.title,
        <EventPage
          request={request}
          event={event}
          counts={await eventCounts(ctx.database.db, event.id)}
          mine={mine}
          canRegister={actor.capabilities.has("events:register")}
          timeZone={ctx.config.timeZone}
          notice={notice}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/events/:id/register",
    capability: "events:register",
    loadClass: "member",
    response: "html",
    degraded: WRITE,
    summary: "Register for an event from its page (once per form)",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as { guests?: string };
      const guestNames = String(body.guests ?? "")
        .split(/\r?\n/)
        .map((g) => g.trim())
        .filter(Boolean);
      return oncePerFormToken(
        request,
        reply,
        registerForEvent,
        { eventId: id, guestNames, timeZone: request.server.ctx.config.timeZone },
        () => `/events/${id}?done=registered`,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/registrations/:id/cancel",
    capability: "events:register",
    loadClass: "member",
    response: "html",
    degraded: WRITE,
    summary: "Cancel a registration from the event page",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const eventId = (
        await request.server.ctx.database.db
          .selectFrom("registrations")
          .select("event_id")
          .where("id", "=", id)
          .executeTakeFirst()
      )?.event_id;
      return oncePerFormToken(
        request,
        reply,
        cancelRegistration,
        { registrationId: id, timeZone: request.server.ctx.config.timeZone },
        () => (eventId ? `/events/${eventId}?done=cancelled` : "/events"),
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/events",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: READ,
    summary: "Events the caller may see",
    handler: async (request) => ({
      events: await listVisibleEvents(request.server.ctx.database.db, isMember(request)),
    }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/events/:id",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: READ,
    summary: "One event with its seat counts; 404 when hidden from the caller",
    handler: async (request) => {
      const db = request.server.ctx.database.db;
      const event = await findVisibleEvent(
        db,
        (request.params as { id: string }).id,
        isMember(request),
        canManage(request),
      );
      if (!event) throw notFound();
      return { ...event, ...(await eventCounts(db, event.id)) };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/events",
    capability: "authenticated", // the gate is inside createEvent: events:manage, or chairing the committee
    loadClass: "admin",
    response: "json",
    degraded: WRITE,
    summary:
      "Create an event, for a committee or none (Idempotency-Key supported). Without events:manage, " +
      "committeeId must be a committee you chair now",
    schema: {
      body: {
        type: "object",
        additionalProperties: false,
        required: ["title", "startsAt", "endsAt", "capacity", "audience"],
        properties: {
          title: { type: "string", minLength: 1, maxLength: 200 },
          description: { type: "string", maxLength: 20000 },
          location: { type: "string", maxLength: 500 },
          startsAt: { type: "string", format: "date-time" },
          endsAt: { type: "string", format: "date-time" },
          capacity: { type: "integer", minimum: 0, maximum: 100000 },
          registrationOpensAt: { type: ["string", "null"], format: "date-time" },
          registrationClosesAt: { type: ["string", "null"], format: "date-time" },
          audience: { enum: ["public", "members"] },
          status: { enum: ["draft", "published"] },
          // No format here: a malformed id gets the same answer as an unknown one (422, or 403 for
          // those who may not create events for it), from createEvent.
          committeeId: {
            type: ["string", "null"],
            description:
              "The id of the committee the event belongs to; null or absent for none. " +
              "Without events:manage it must be a committee you chair now.",
          },
        },
      },
    },
    handler: async (request, reply) =>
      idempotentJson(request, reply, createEvent, request.body as EventInput, (event) => ({
        status: 201,
        body: event,
      })),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/events/:id/registrations",
    capability: "events:register",
    loadClass: "member",
    response: "json",
    degraded: WRITE,
    summary: "Register the caller for an event: confirmed or waitlisted (Idempotency-Key supported)",
    schema: {
      params: ID,
      body: {
        type: ["object", "null"],
        additionalProperties: false,
        properties: {
          guests: { type: "array", maxItems: 10, items: { type: "string", minLength: 1, maxLength: 200 } },
        },
      },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const guestNames = (request.body as { guests?: string[] } | null)?.guests ?? [];
      return idempotentJson(
        request,
        reply,
        registerForEvent,
        { eventId: id, guestNames, timeZone: request.server.ctx.config.timeZone },
        (registration) => ({ status: 201, body: registration }),
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/registrations/:id/cancel",
    capability: "events:register",
    loadClass: "member",
    response: "json",
    degraded: WRITE,
    summary: "Cancel a registration; the first waitlisted member is promoted in the same transaction",
    schema: { params: ID },
    handler: async (request, reply) =>
      idempotentJson(
        request,
        reply,
        cancelRegistration,
        {
          registrationId: (request.params as { id: string }).id,
          timeZone: request.server.ctx.config.timeZone,
        },
        (result) => ({ status: 200, body: result }),
      ),
  });
}
