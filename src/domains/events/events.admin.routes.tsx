import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { Actor } from "../../core/actor.ts";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareFormRoute } from "../../http/form-route.ts";
import { fromLocalInput } from "../../http/local-time.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute, routePolicy } from "../../http/routes.ts";
import { EMPTY_FORM, ID_PARAMS, Query } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { chairedCommittees, listCommittees } from "../committees/committees.repository.ts";
import { checkInRegistration, markNoShow } from "./attendance.actions.ts";
import type { EventFields } from "./event-fields.ts";
import { createEvent } from "./events.actions.ts";
import { cancelEvent, completeEvent, publishEvent, updateEvent } from "./events.admin.actions.ts";
import { AdminEventList, AdminEventView, EventForm } from "./events.admin.views.tsx";
import { MANAGES_EVENT, MANAGES_SOME_EVENTS } from "./events.policies.ts";
import { eventCounts, eventRegistrations, findVisibleEvent, listAdminEvents } from "./events.repository.ts";
import { CancelEventForm, EventFormBody } from "./events.schemas.ts";

/** The committees whose events the actor manages: "all" with events:manage, else those they chair now
 * (the route's policy has made sure there is at least one). */
async function committeeScope(request: FastifyRequest): Promise<"all" | { id: string; name: string }[]> {
  const actor: Actor = request.auth.actor;
  if (actor.capabilities.has("events:manage") || actor.type !== "member") return "all";
  return chairedCommittees(request.server.ctx.database.db, actor.memberId);
}

/** The picker's choices: every committee and "none" for events:manage, a chair's own committees only. */
async function committeeChoices(request: FastifyRequest) {
  const scope = await committeeScope(request);
  if (scope !== "all") return { committees: scope, allowNone: false };
  const all = await listCommittees(request.server.ctx.database.db);
  return { committees: all.map((c) => ({ id: c.id, name: c.name })), allowNone: true };
}

/** The event form as the fields the actions take; the field rules themselves are in event-fields.ts. */
function formEvent(
  body: EventFormBody,
  timeZone: string,
): EventFields & {
  title: string;
  startsAt: string;
  endsAt: string;
  capacity: number;
  audience: "public" | "members";
} {
  const capacity = (body.capacity ?? "").trim();
  return {
    title: body.title ?? "",
    description: body.description ?? "",
    location: body.location ?? "",
    startsAt: fromLocalInput(body.startsAt, timeZone) ?? "",
    endsAt: fromLocalInput(body.endsAt, timeZone) ?? "",
    capacity: /^\d+$/.test(capacity) ? Number(capacity) : Number.NaN,
    registrationOpensAt: fromLocalInput(body.registrationOpensAt, timeZone),
    registrationClosesAt: fromLocalInput(body.registrationClosesAt, timeZone),
    audience: body.audience === "public" ? "public" : "members",
  };
}

const NOTICES = {
  created: "The draft is created. Publish it when it is ready.",
  saved: "Saved.",
  published: "Published.",
  completed: "Marked completed.",
  cancelled: "The event is cancelled; every registration was cancelled and the members are being emailed.",
  attendance: "Attendance recorded.",
} as const;
const DoneQuery = Query({
  done: Type.Optional(Type.Union(Object.keys(NOTICES).map((k) => Type.Literal(k as keyof typeof NOTICES)))),
});

const tz = (request: FastifyRequest) => request.server.ctx.config.timeZone;
const SOME_EVENTS = routePolicy(MANAGES_SOME_EVENTS, () => ({}));
const THIS_EVENT = routePolicy(MANAGES_EVENT, (params) => ({ eventId: params.id! }));

/** The admin event pages: list, create, edit, publish, cancel, complete, check-in and no-show. A
 * committee chair manages, lists and creates their committee's events without holding events:manage:
 * the pages ask the events policies, the forms' actions ask them again in their transactions. */
export function eventAdminRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/events",
    capability: "events:register",
    policy: SOME_EVENTS,
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary:
      "Events, drafts included: all of them with events:manage, else those of the committees one chairs",
    handler: async (request, reply) => {
      const scope = await committeeScope(request);
      const events = await listAdminEvents(
        request.server.ctx.database.db,
        scope === "all" ? "all" : scope.map((c) => c.id),
      );
      return sendPage(
        request,
        reply,
        "Events",
        <AdminEventList
          events={events}
          chaired={scope === "all" ? undefined : scope.map((c) => c.name)}
          timeZone={tz(request)}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/events/new",
    capability: "events:register",
    policy: SOME_EVENTS,
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "The form to create an event, with the committees one may create it for",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "New event",
        <section>
          <h1>New event</h1>
          <EventForm
            page={pageContext(request)}
            timeZone={tz(request)}
            choices={await committeeChoices(request)}
          />
        </section>,
      ),
  });

  declareFormRoute(app, {
    url: "/admin/events",
    action: createEvent,
    loadClass: "admin",
    summary: "Create a draft event for a committee or none (once per form)",
    schema: { body: EventFormBody },
    submit: (request) => {
      const committeeId = (request.body.committeeId ?? "").trim() || null;
      return {
        input: { ...formEvent(request.body, tz(request)), committeeId, status: "draft" as const },
        redirect: (event) => `/admin/events/${event.id}?done=created`,
      };
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/events/:id",
    capability: "events:register",
    policy: THIS_EVENT,
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "One event: edit, status, registrations and waitlist",
    schema: { params: ID_PARAMS, querystring: DoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const event = await findVisibleEvent(db, request.params.id, true, true);
      if (!event) throw notFound();
      const done = request.query.done;
      return sendPage(
        request,
        reply,
        event.title,
        <AdminEventView
          page={pageContext(request)}
          event={event}
          counts={await eventCounts(db, event.id)}
          registrations={await eventRegistrations(db, event.id)}
          timeZone={tz(request)}
          notice={done ? NOTICES[done] : undefined}
        />,
      );
    },
  });

  declareFormRoute(app, {
    url: "/admin/events/:id",
    action: updateEvent,
    loadClass: "admin",
    summary: "Save an event (409 if it changed since the form was opened)",
    schema: { params: ID_PARAMS, body: EventFormBody },
    submit: (request) => ({
      input: {
        eventId: request.params.id,
        version: versionFrom(request.body.version, true),
        changes: formEvent(request.body, tz(request)),
        timeZone: tz(request),
      },
      redirect: () => `/admin/events/${request.params.id}?done=saved`,
    }),
  });

  for (const [verb, spec, done, summary] of [
    ["publish", publishEvent, "published", "Publish a draft event"],
    ["complete", completeEvent, "completed", "Mark a started event completed"],
    ["cancel", cancelEvent, "cancelled", "Cancel an event and all its registrations"],
  ] as const) {
    declareFormRoute(app, {
      url: `/admin/events/:id/${verb}`,
      action: spec,
      loadClass: "admin",
      summary,
      // One form shape for the three buttons: only cancel's has a reason.
      schema: { params: ID_PARAMS, body: CancelEventForm },
      submit: (request) => ({
        input: { eventId: request.params.id, reason: request.body.reason ?? "", timeZone: tz(request) },
        redirect: () => `/admin/events/${request.params.id}?done=${done}`,
      }),
    });
  }

  for (const [verb, spec] of [
    ["check-in", checkInRegistration],
    ["no-show", markNoShow],
  ] as const) {
    declareFormRoute(app, {
      url: `/admin/registrations/:id/${verb}`,
      action: spec,
      loadClass: "admin",
      summary: `Record a ${verb} (idempotent)`,
      schema: { params: ID_PARAMS, body: EMPTY_FORM },
      // A second tap finds it already recorded (the action's `unchanged`), so every post may run it.
      repeat: "each-post",
      submit: (request) => ({
        input: { registrationId: request.params.id },
        redirect: (result) => `/admin/events/${result.event_id}?done=attendance`,
      }),
    });
  }
}
