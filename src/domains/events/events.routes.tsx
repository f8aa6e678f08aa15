import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareFormRoute } from "../../http/form-route.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { EMPTY_BODY, EMPTY_FORM, ID_PARAMS, IDEMPOTENCY_KEY, Query } from "../../http/schema.ts";
import { cancelRegistration, createEvent, registerForEvent } from "./events.actions.ts";
import { seesMembersOnlyEvents } from "./events.policies.ts";
import { presentEvent, presentRegistration } from "./events.presenters.ts";
import {
  eventOfRegistration,
  findEventPage,
  listVisibleEventSummaries,
  listVisibleEvents,
} from "./events.repository.ts";
import {
  CancelledRegistrationOut,
  CreateEventBody,
  EventListOut,
  EventOut,
  EventWithSeats,
  RegisterBody,
  RegisterForm,
  RegistrationOut,
} from "./events.schemas.ts";
import { EventList, EventPage } from "./events.views.tsx";

const isMember = (request: FastifyRequest) => seesMembersOnlyEvents(request.auth.actor);
const canManage = (request: FastifyRequest) => request.auth.actor.capabilities.has("events:manage");
const timeZone = (request: FastifyRequest) => request.server.ctx.config.timeZone;

const DONE = { registered: "You are registered.", cancelled: "Your registration is cancelled." } as const;
const DoneQuery = Query({
  done: Type.Optional(Type.Union([Type.Literal("registered"), Type.Literal("cancelled")])),
});
const IdempotentHeaders = Type.Object({ "idempotency-key": IDEMPOTENCY_KEY });

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
      const events = await listVisibleEventSummaries(request.server.ctx.database.db, isMember(request));
      return sendPage(request, reply, "Events", <EventList events={events} timeZone={timeZone(request)} />);
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
    schema: { params: ID_PARAMS, querystring: DoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const { actor } = request.auth;
      const found = await findEventPage(db, request.params.id, {
        includeMembersOnly: isMember(request),
        includeDrafts: canManage(request),
        memberId: actor.type === "member" ? actor.memberId : null,
      });
      if (!found) throw notFound();
      const { event, counts, mine } = found;
      const done = request.query.done;
      return sendPage(
        request,
        reply,
        event.title,
        <EventPage
          page={pageContext(request)}
          event={event}
          counts={counts}
          mine={mine}
          notice={done ? DONE[done] : undefined}
        />,
      );
    },
  });

  declareFormRoute(app, {
    url: "/events/:id/register",
    action: registerForEvent,
    loadClass: "member",
    summary: "Register for an event from its page (once per form)",
    schema: { params: ID_PARAMS, body: RegisterForm },
    submit: (request) => {
      const { id } = request.params;
      const guestNames = (request.body.guests ?? "")
        .split(/\r?\n/)
        .map((g) => g.trim())
        .filter(Boolean);
      return {
        input: { eventId: id, guestNames, timeZone: timeZone(request) },
        redirect: () => `/events/${id}?done=registered`,
      };
    },
  });

  declareFormRoute(app, {
    url: "/registrations/:id/cancel",
    action: cancelRegistration,
    loadClass: "member",
    summary: "Cancel a registration from the event page",
    schema: { params: ID_PARAMS, body: EMPTY_FORM },
    submit: async (request) => {
      const { id } = request.params;
      const eventId = await eventOfRegistration(request.server.ctx.database.db, id);
      return {
        input: { registrationId: id, timeZone: timeZone(request) },
        redirect: () => (eventId ? `/events/${eventId}?done=cancelled` : "/events"),
      };
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
    schema: { response: { 200: EventListOut } },
    handler: async (request) => ({
      events: (await listVisibleEvents(request.server.ctx.database.db, isMember(request))).map(presentEvent),
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
    schema: { params: ID_PARAMS, response: { 200: EventWithSeats } },
    handler: async (request) => {
      const found = await findEventPage(request.server.ctx.database.db, request.params.id, {
        includeMembersOnly: isMember(request),
        includeDrafts: canManage(request),
        memberId: null,
      });
      if (!found) throw notFound();
      return { ...presentEvent(found.event), ...found.counts };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/events",
    action: createEvent,
    loadClass: "admin",
    response: "json",
    summary:
      "Create an event, for a committee or none (Idempotency-Key supported). Without events:manage, " +
      "committeeId must be a committee you chair now",
    schema: { body: CreateEventBody, headers: IdempotentHeaders, response: { 201: EventOut } },
    handler: async (request, reply, action) =>
      action.idempotentJson(reply, request.body, (event) => ({ status: 201, body: presentEvent(event) })),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/events/:id/registrations",
    action: registerForEvent,
    loadClass: "member",
    response: "json",
    summary: "Register the caller for an event: confirmed or waitlisted (Idempotency-Key supported)",
    schema: {
      params: ID_PARAMS,
      body: RegisterBody,
      headers: IdempotentHeaders,
      response: { 201: RegistrationOut },
    },
    handler: async (request, reply, action) => {
      const guestNames = request.body?.guests ?? [];
      return action.idempotentJson(
        reply,
        { eventId: request.params.id, guestNames, timeZone: timeZone(request) },
        (registration) => ({ status: 201, body: presentRegistration(registration) }),
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/registrations/:id/cancel",
    action: cancelRegistration,
    loadClass: "member",
    response: "json",
    summary: "Cancel a registration; the first waitlisted member is promoted in the same transaction",
    schema: {
      params: ID_PARAMS,
      body: EMPTY_BODY,
      headers: IdempotentHeaders,
      response: { 200: CancelledRegistrationOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        { registrationId: request.params.id, timeZone: timeZone(request) },
        (result) => ({ status: 200, body: { id: result.id, promoted: result.promoted } }),
      ),
  });
}
