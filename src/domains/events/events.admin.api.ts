import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareRoute, routePolicy } from "../../http/routes.ts";
import { EMPTY_BODY, ID_PARAMS, IDEMPOTENCY_KEY, IF_MATCH } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { checkInRegistration, markNoShow } from "./attendance.actions.ts";
import { cancelEvent, completeEvent, publishEvent, updateEvent } from "./events.admin.actions.ts";
import { MANAGES_EVENT } from "./events.policies.ts";
import { presentAttendance, presentEvent, presentManagedRegistration } from "./events.presenters.ts";
import { eventRegistrations, findVisibleEvent } from "./events.repository.ts";
import {
  AttendanceOut,
  CancelEventBody,
  CancelledEventOut,
  EventChangesBody,
  EventOut,
  ManagedRegistrationsOut,
  UpdatedEventOut,
} from "./events.schemas.ts";

const tz = (request: FastifyRequest) => request.server.ctx.config.timeZone;
const ifMatch = (request: FastifyRequest) => {
  const v = versionFrom(request.headers["if-match"], false);
  return Number.isNaN(v) ? undefined : v;
};
const VersionHeaders = Type.Object({ "if-match": IF_MATCH, "idempotency-key": IDEMPOTENCY_KEY });

/** The events management JSON API: versioned edits, status steps, attendance and registration lists.
 * Who may is each action's policy (events:manage, or chairing the event's committee). */
export function eventAdminApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "PATCH",
    url: "/api/v1/events/:id",
    action: updateEvent,
    loadClass: "admin",
    response: "json",
    summary: "Change an event (If-Match required; 409 naming what changed when stale)",
    schema: {
      params: ID_PARAMS,
      body: EventChangesBody,
      headers: VersionHeaders,
      response: { 200: UpdatedEventOut },
    },
    handler: async (request, reply, action) => {
      const updated = await action.run({
        eventId: request.params.id,
        version: versionFrom(request.headers["if-match"], true),
        changes: request.body,
        timeZone: tz(request),
      });
      return reply
        .header("ETag", `"v${updated.version}"`)
        .send({ ...presentEvent(updated), promoted: updated.promoted });
    },
  });

  for (const [verb, spec, summary] of [
    ["publish", publishEvent, "Publish a draft event"],
    ["complete", completeEvent, "Mark a started event completed"],
  ] as const) {
    declareRoute(app, {
      method: "POST",
      url: `/api/v1/events/:id/${verb}`,
      action: spec,
      loadClass: "admin",
      response: "json",
      summary: `${summary} (If-Match optional, Idempotency-Key supported)`,
      schema: { params: ID_PARAMS, body: EMPTY_BODY, headers: VersionHeaders, response: { 200: EventOut } },
      handler: async (request, reply, action) =>
        action.idempotentJson(
          reply,
          { eventId: request.params.id, version: ifMatch(request), timeZone: tz(request) },
          (event) => ({ status: 200, body: presentEvent(event) }),
        ),
    });
  }

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/events/:id/cancel",
    action: cancelEvent,
    loadClass: "admin",
    response: "json",
    summary:
      "Cancel an event and every active registration, emailing each member (If-Match optional, Idempotency-Key supported)",
    schema: {
      params: ID_PARAMS,
      body: CancelEventBody,
      headers: VersionHeaders,
      response: { 200: CancelledEventOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        {
          eventId: request.params.id,
          version: ifMatch(request),
          reason: request.body?.reason,
          timeZone: tz(request),
        },
        (event) => ({
          status: 200,
          body: { ...presentEvent(event), cancelledRegistrations: event.cancelledRegistrations },
        }),
      ),
  });

  for (const [verb, spec] of [
    ["check-in", checkInRegistration],
    ["no-show", markNoShow],
  ] as const) {
    declareRoute(app, {
      method: "POST",
      url: `/api/v1/registrations/:id/${verb}`,
      action: spec,
      loadClass: "admin",
      response: "json",
      summary: `Record a ${verb} for a confirmed registration (idempotent)`,
      schema: { params: ID_PARAMS, body: EMPTY_BODY, response: { 200: AttendanceOut } },
      handler: async (request, _reply, action) =>
        presentAttendance(await action.run({ registrationId: request.params.id })),
    });
  }

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/events/:id/registrations",
    capability: "events:register",
    policy: routePolicy(MANAGES_EVENT, (params) => ({ eventId: params.id! })),
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "An event's registrations: confirmed, then the waitlist in order, then cancelled",
    schema: { params: ID_PARAMS, response: { 200: ManagedRegistrationsOut } },
    handler: async (request) => {
      const db = request.server.ctx.database.db;
      const event = await findVisibleEvent(db, request.params.id, true, true);
      if (!event) throw notFound();
      return {
        eventId: event.id,
        registrations: (await eventRegistrations(db, event.id)).map(presentManagedRegistration),
      };
    },
  });
}
