import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Kysely, sql } from "kysely";
import type { DB } from "../../core/db/schema.ts";
import { forbidden, invalidInput, notFound } from "../../core/errors.ts";
import { ADMIN_WRITE, ID, READ } from "../../http/declarations.ts";
import { oncePerFormToken } from "../../http/idempotent-reply.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { versionFrom } from "../../http/versions.ts";
import { listCommittees } from "../members/committees.repository.ts";
import { checkIn, noShow } from "./attendance.actions.ts";
import { canManageEvent, chairedCommittees } from "./event-access.ts";
import { createEvent, type EventInput } from "./events.actions.ts";
import { cancelEvent, completeEvent, publishEvent, updateEvent } from "./events.admin.actions.ts";
import { AdminEventList, AdminEventView, EventForm, localInputValue } from "./events.admin.views.tsx";
import { eventCounts, findVisibleEvent } from "./events.repository.ts";

/** Events with their committee's name and seat counts (from the tally), newest start first, drafts
 * included: every event, or only those of the given committees. */
function listAdminEvents(db: Kysely<DB>, committees: "all" | string[]) {
  let query = db
    .selectFrom("events as e")
    .leftJoin("committees as c", "c.id", "e.committee_id")
    // A left join: an event whose tally row went missing still shows (its seats read "not counted"),
    // and the events.tallies invariant check reports the gap.
    .leftJoin("event_tallies as t", "t.event_id", "e.id")
    .selectAll("e")
    .select(["c.name as committee_name", "t.confirmed_seats as seats", "t.waitlisted as waiting"])
    .orderBy("e.starts_at", "desc")
    .orderBy("e.id")
    .limit(200);
  if (committees !== "all") {
    if (committees.length === 0) return Promise.resolve([]);
    query = query.where("e.committee_id", "in", committees);
  }
  return query.execute();
}

/** The committees the actor may list and create events for: "all" with events:manage, else the ones they
 * chair right now. 403 for everyone else, and for a chair whose permissions cannot be read just now
 * (no events:register: R-1, deny when a check cannot be made). */
function committeeScope(request: FastifyRequest): Promise<CommitteeScope> {
  // Asked by the route's gate and again by its handler: one query per request.
  const known = scopes.get(request);
  if (known) return known;
  const scope = readCommitteeScope(request);
  scopes.set(request, scope);
  return scope;
}
type CommitteeScope = "all" | { id: string; name: string }[];
const scopes = new WeakMap<FastifyRequest, Promise<CommitteeScope>>();

async function readCommitteeScope(request: FastifyRequest): Promise<CommitteeScope> {
  const { actor } = request.auth;
  if (actor.capabilities.has("events:manage")) return "all";
  const chaired = actor.capabilities.has("events:register")
    ? await chairedCommittees(request.server.ctx.database.db, actor)
    : [];
  if (chaired.length === 0) throw forbidden("events:manage");
  return chaired;
}

/** The picker's choices: every committee and "none" for events:manage, a chair's own committees only. */
async function committeeChoices(request: FastifyRequest) {
  const scope = await committeeScope(request);
  if (scope !== "all") return { committees: scope, allowNone: false };
  const all = await listCommittees(request.server.ctx.database.db);
  return { committees: all.map((c) => ({ id: c.id, name: c.name })), allowNone: true };
}

/** An event's registrations with member names: confirmed, then the waitlist in order, then cancelled. */
export function eventRegistrations(db: Kysely<DB>, eventId: string) {
  return db
    .selectFrom("registrations as r")
    .innerJoin("members as m", "m.id", "r.member_id")
    .select([
      "r.id",
      "r.member_id",
      "r.status",
      "r.waitlist_position",
      "r.guest_names",
      "r.checked_in_at",
      "r.no_show",
      "r.cancelled_at",
      "r.version",
      "r.created_at",
      "m.name as member_name",
      "m.email as member_email",
    ])
    .where("r.event_id", "=", eventId)
    .orderBy(sql`CASE r.status WHEN 'confirmed' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END`)
    .orderBy("r.waitlist_position")
    .orderBy("r.created_at")
    .execute();
}

/** A datetime-local value read as wall time in the club's zone, as an ISO instant; "" is null. */
export function fromLocalInput(value: unknown, timeZone: string): string | null {
  const text = String(value ?? "").trim();
  if (!text) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw invalidInput(`"${text}" is not a date and time like 2026-05-01T19:30.`);
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
  // The zone's offset at an instant; asked twice so a time next to a DST change lands right.
  const offset = (t: number) => Date.parse(`${localInputValue(new Date(t), timeZone)}:00Z`) - t;
  const guess = wall - offset(wall);
  return new Date(wall - offset(guess)).toISOString();
}

function formEvent(body: Record<string, unknown>, timeZone: string): Omit<EventInput, "status"> {
  const capacity = String(body.capacity ?? "").trim();
  return {
    title: String(body.title ?? ""),
    description: String(body.description ?? "").replace(/\r\n/g, "\n"),
    location: String(body.location ?? ""),
    startsAt: fromLocalInput(body.startsAt, timeZone) ?? "",
    endsAt: fromLocalInput(body.endsAt, timeZone) ?? "",
    capacity: /^\d+$/.test(capacity) ? Number(capacity) : Number.NaN,
    registrationOpensAt: fromLocalInput(body.registrationOpensAt, timeZone),
    registrationClosesAt: fromLocalInput(body.registrationClosesAt, timeZone),
    audience: body.audience === "public" ? "public" : "members",
  };
}

const NOTICES: Record<string, string> = {
  created: "The draft is created. Publish it when it is ready.",
  saved: "Saved.",
  published: "Published.",
  completed: "Marked completed.",
  cancelled: "The event is cancelled; every registration was cancelled and the members are being emailed.",
  attendance: "Attendance recorded.",
};

const body = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;
const tz = (request: FastifyRequest) => request.server.ctx.config.timeZone;
const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

/** The admin event pages: list, create, edit, publish, cancel, complete, check-in and no-show. */
export function eventAdminRoutes(app: FastifyInstance): void {
  // Every route admits any signed-in person and then decides: routes about one event ask canManageEvent,
  // the list and creation ask committeeScope. A committee chair manages, lists and creates their
  // committee's events without holding events:manage.
  const route = (method: "GET" | "POST", url: string, summary: string, handler: RouteHandler, scope: Scope) =>
    declareRoute(app, {
      method,
      url,
      capability: "authenticated",
      loadClass: "admin",
      response: "html",
      degraded: method === "GET" ? READ : ADMIN_WRITE,
      summary,
      schema: scope === "all" ? undefined : { params: ID },
      handler: async (request, reply) => {
        if (scope === "all") await committeeScope(request);
        else await requireManager(request, scope);
        return handler(request, reply);
      },
    });
  const page = (url: string, summary: string, handler: RouteHandler, scope: Scope = "event") =>
    route("GET", url, summary, handler, scope);
  const post = (url: string, summary: string, handler: RouteHandler, scope: Scope = "event") =>
    route("POST", url, summary, handler, scope);

  page(
    "/admin/events",
    "Events, drafts included: all of them with events:manage, else those of the committees one chairs",
    async (request, reply) => {
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
    "all",
  );

  page(
    "/admin/events/new",
    "The form to create an event, with the committees one may create it for",
    async (request, reply) =>
      sendPage(
        request,
        reply,
        "New event",
        <section>
          <h1>New event</h1>
          <EventForm request={request} timeZone={tz(request)} choices={await committeeChoices(request)} />
        </section>,
      ),
    "all",
  );

  post(
    "/admin/events",
    "Create a draft event for a committee or none (once per form; createEvent re-checks the committee)",
    async (request, reply) => {
      const committeeId = String(body(request).committeeId ?? "").trim() || null;
      const input = { ...formEvent(body(request), tz(request)), committeeId, status: "draft" as const };
      return oncePerFormToken(
        request,
        reply,
        createEvent,
        input,
        (event) => `/admin/events/${event.id}?done=created`,
      );
    },
    "all",
  );

  page("/admin/events/:id", "One event: edit, status, registrations and waitlist", async (request, reply) => {
    const db = request.server.ctx.database.db;
    const event = await findVisibleEvent(db, idOf(request), true, true);
    if (!event) throw notFound();
    const done = (request.query as { done?: string }).done;
    return sendPage(
      request,
      reply,
      event.title,
      <AdminEventView
        request={request}
        event={event}
        counts={await eventCounts(db, event.id)}
        registrations={await eventRegistrations(db, event.id)}
        timeZone={tz(request)}
        notice={done ? NOTICES[done] : undefined}
      />,
    );
  });

  post("/admin/events/:id", "Save an event (409 if it changed since the form was opened)", (request, reply) =>
    oncePerFormToken(
      request,
      reply,
      updateEvent,
      {
        eventId: idOf(request),
        version: versionFrom(body(request).version, true),
        changes: formEvent(body(request), tz(request)),
        timeZone: tz(request),
      },
      () => `/admin/events/${idOf(request)}?done=saved`,
    ),
  );

  post("/admin/events/:id/publish", "Publish a draft event", (request, reply) =>
    oncePerFormToken(
      request,
      reply,
      publishEvent,
      { eventId: idOf(request) },
      () => `/admin/events/${idOf(request)}?done=published`,
    ),
  );

  post("/admin/events/:id/complete", "Mark a started event completed", (request, reply) =>
    oncePerFormToken(
      request,
      reply,
      completeEvent,
      { eventId: idOf(request) },
      () => `/admin/events/${idOf(request)}?done=completed`,
    ),
  );

  post("/admin/events/:id/cancel", "Cancel an event and all its registrations", (request, reply) =>
    oncePerFormToken(
      request,
      reply,
      cancelEvent,
      { eventId: idOf(request), reason: String(body(request).reason ?? ""), timeZone: tz(request) },
      () => `/admin/events/${idOf(request)}?done=cancelled`,
    ),
  );

  for (const [verb, run] of [
    ["check-in", checkIn],
    ["no-show", noShow],
  ] as const) {
    post(
      `/admin/registrations/:id/${verb}`,
      `Record a ${verb} (idempotent)`,
      async (request, reply) => {
        const env = request.server.ctx.actionEnv(request.auth.actor, request.id);
        const result = await run(env, idOf(request));
        return reply.redirect(`/admin/events/${result.eventId}?done=attendance`, 303);
      },
      "registration",
    );
  }
}

type RouteHandler = Parameters<typeof declareRoute>[1]["handler"];
/** Which events a route is about: those one may list and create (committeeScope), the one in :id, or the
 * event of the registration in :id. */
type Scope = "all" | "event" | "registration";

/** 403 unless the actor may manage the event the route is about (events:manage, or chairing its
 * committee). Those who manage nothing learn nothing about which ids exist. */
export async function requireManager(request: FastifyRequest, scope: "event" | "registration") {
  const db = request.server.ctx.database.db;
  const id = (request.params as { id: string }).id;
  const eventId =
    scope === "event"
      ? id
      : (await db.selectFrom("registrations").select("event_id").where("id", "=", id).executeTakeFirst())
          ?.event_id;
  if (!(await canManageEvent(db, request.auth.actor, eventId ?? ""))) throw forbidden("events:manage");
}
