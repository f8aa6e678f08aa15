import type { FastifyInstance, FastifyRequest } from "fastify";
import { type ActionSpec, runAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { ADMIN_WRITE, ID, READ } from "../../http/declarations.ts";
import { idempotentJson } from "../../http/idempotent-reply.ts";
import { declareRoute } from "../../http/routes.ts";
import { versionFrom } from "../../http/versions.ts";
import { checkIn, noShow } from "./attendance.actions.ts";
import {
  cancelEvent,
  completeEvent,
  type EventChanges,
  publishEvent,
  updateEvent,
} from "./events.admin.actions.ts";
import { eventRegistrations, requireManager } from "./events.admin.routes.tsx";
import { findVisibleEvent } from "./events.repository.ts";

const TIME = { type: ["string", "null"], format: "date-time" } as const;
const CHANGES = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    title: { type: "string", minLength: 1, maxLength: 200 },
    description: { type: "string", maxLength: 20000 },
    location: { type: "string", maxLength: 500 },
    startsAt: { type: "string", format: "date-time" },
    endsAt: { type: "string", format: "date-time" },
    capacity: { type: "integer", minimum: 0, maximum: 100000 },
    registrationOpensAt: TIME,
    registrationClosesAt: TIME,
    audience: { enum: ["public", "members"] },
  },
} as const;

type StepInput = { eventId: string; version?: number; reason?: string; timeZone: string };

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
const ifMatch = (request: FastifyRequest) => {
  const v = versionFrom(request.headers["if-match"], false);
  return Number.isNaN(v) ? undefined : v;
};

/** The events management JSON API: versioned edits, status steps, attendance and registration lists. */
export function eventAdminApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "PATCH",
    url: "/api/v1/events/:id",
    capability: "authenticated", // the gate is requireManager (canManageEvent), for committee chairs
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Change an event (If-Match required; 409 naming what changed when stale)",
    schema: { params: ID, body: CHANGES },
    handler: async (request, reply) => {
      await requireManager(request, "event");
      const updated = await runAction(
        request.server.ctx.actionEnv(request.auth.actor, request.id),
        updateEvent,
        {
          eventId: idOf(request),
          version: versionFrom(request.headers["if-match"], true),
          changes: request.body as EventChanges,
          timeZone: request.server.ctx.config.timeZone,
        },
      );
      return reply.header("ETag", `"v${updated.version}"`).send(updated);
    },
  });

  // Each step ignores the fields it does not use (only cancel reads reason and timeZone).
  const steps: Array<[string, ActionSpec<StepInput, unknown>, string]> = [
    ["publish", publishEvent, "Publish a draft event"],
    ["complete", completeEvent, "Mark a started event completed"],
    ["cancel", cancelEvent, "Cancel an event and every active registration, emailing each member"],
  ];
  for (const [verb, spec, summary] of steps) {
    declareRoute(app, {
      method: "POST",
      url: `/api/v1/events/:id/${verb}`,
      capability: "authenticated", // the gate is requireManager (canManageEvent), for committee chairs
      loadClass: "admin",
      response: "json",
      degraded: ADMIN_WRITE,
      summary: `${summary} (If-Match optional, Idempotency-Key supported)`,
      schema: {
        params: ID,
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: verb === "cancel" ? { reason: { type: "string", maxLength: 500 } } : {},
        },
      },
      handler: async (request, reply) => {
        await requireManager(request, "event");
        const reason = (request.body as { reason?: string } | null)?.reason;
        const input = {
          eventId: idOf(request),
          version: ifMatch(request),
          reason,
          timeZone: request.server.ctx.config.timeZone,
        };
        return idempotentJson(request, reply, spec, input, (event) => ({
          status: 200,
          body: event,
        }));
      },
    });
  }

  for (const [verb, run] of [
    ["check-in", checkIn],
    ["no-show", noShow],
  ] as const) {
    declareRoute(app, {
      method: "POST",
      url: `/api/v1/registrations/:id/${verb}`,
      capability: "authenticated", // the gate is requireManager (canManageEvent), for committee chairs
      loadClass: "admin",
      response: "json",
      degraded: ADMIN_WRITE,
      summary: `Record a ${verb} for a confirmed registration (idempotent)`,
      schema: { params: ID },
      handler: async (request) => {
        await requireManager(request, "registration");
        return run(request.server.ctx.actionEnv(request.auth.actor, request.id), idOf(request));
      },
    });
  }

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/events/:id/registrations",
    capability: "authenticated", // the gate is requireManager (canManageEvent), for committee chairs
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "An event's registrations: confirmed, then the waitlist in order, then cancelled",
    schema: { params: ID },
    handler: async (request) => {
      await requireManager(request, "event");
      const db = request.server.ctx.database.db;
      const event = await findVisibleEvent(db, idOf(request), true, true);
      if (!event) throw notFound();
      return { eventId: event.id, registrations: await eventRegistrations(db, event.id) };
    },
  });
}
