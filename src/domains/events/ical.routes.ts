import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Kysely, sql } from "kysely";
import { defineAction, runAction } from "../../core/action.ts";
import type { DB } from "../../core/db/schema.ts";
import { notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { READ, WRITE } from "../../http/declarations.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { hashSecret } from "../identity/tokens.ts";
import { findVisibleEvent } from "./events.repository.ts";
import { type CalendarEvent, renderCalendar } from "./ical.ts";
import { FeedTokenCreated } from "./ical.views.tsx";

// Hex, so the token never contains the "-" or "." that the router reads as separators in ":token.ics".
const TOKEN = /^[0-9a-f]{64}$/;

/** Events for a feed: once published (cancelled ones stay, so calendars learn of the cancellation),
 * for the audience given, from 180 days back. Drafts never appear (R-4: filtered here, on the server). */
function feedEvents(db: Kysely<DB>, includeMembersOnly: boolean) {
  let query = db
    .selectFrom("events")
    .selectAll()
    .where("status", "in", ["published", "completed", "cancelled"])
    .where("ends_at", ">", sql<Date>`now() - interval '180 days'`)
    .orderBy("starts_at")
    .limit(1000);
  if (!includeMembersOnly) query = query.where("audience", "=", "public");
  return query.execute();
}

/** When the member's feed address was last made, if they have one. */
export function feedTokenStatus(db: Kysely<DB>, memberId: string) {
  return db
    .selectFrom("member_feed_tokens")
    .select(["updated_at", "version"])
    .where("member_id", "=", memberId)
    .executeTakeFirst();
}

/** Makes a new personal feed token for the signed-in member, replacing any earlier one (which stops
 * working in the same commit). Only its hash is kept; the token itself is returned once. */
export const rotateFeedToken = defineAction({
  name: "rotateFeedToken",
  capability: "profile:write",
  effect: "write",
  async run({ trx, actor }, _input: Record<string, never>) {
    if (actor.type !== "member") throw notFound();
    const token = randomBytes(32).toString("hex");
    const row = await trx
      .insertInto("member_feed_tokens")
      .values({ member_id: actor.memberId, token_hash: hashSecret(token) })
      .onConflict((oc) =>
        oc
          .column("member_id")
          .doUpdateSet({ token_hash: hashSecret(token), version: sql`member_feed_tokens.version + 1` }),
      )
      .returning(["version"])
      .executeTakeFirstOrThrow();
    return {
      result: { token },
      audit: {
        action: "member.feed_token_rotated",
        subjectType: "member",
        subjectId: actor.memberId,
        after: { version: row.version, replacedEarlier: row.version > 1 },
      },
    };
  },
});

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
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const { actor } = request.auth;
      const event = UUID.test(id)
        ? await findVisibleEvent(
            request.server.ctx.database.db,
            id,
            actor.type === "member",
            actor.capabilities.has("events:manage"),
          )
        : undefined;
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
    handler: async (request, reply) => {
      const { token } = request.params as { token: string };
      const db = request.server.ctx.database.db;
      const owner = TOKEN.test(token)
        ? await db
            .selectFrom("member_feed_tokens as t")
            .innerJoin("members as m", "m.id", "t.member_id")
            .select("m.id")
            .where("t.token_hash", "=", hashSecret(token))
            .where("m.deleted_at", "is", null)
            // Only active members hold roles (identity.repository activeRoleKeys); a suspended or
            // lapsed member's feed stops with them, and works again if they are reactivated.
            .where("m.status", "=", "active")
            .executeTakeFirst()
        : undefined;
      if (!owner) throw notFound();
      reply.header("X-Robots-Tag", "noindex");
      const name = `${request.server.ctx.config.clubName} events (members)`;
      return sendCalendar(request, reply, await feedEvents(db, true), name, "private, no-store");
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/members/me/feed-token",
    capability: "profile:write",
    loadClass: "member",
    response: "html",
    degraded: WRITE,
    summary: "Create or replace my personal calendar feed address (the old one stops working)",
    handler: async (request, reply) => {
      const env = request.server.ctx.actionEnv(request.auth.actor, request.id);
      const { token } = await runAction(env, rotateFeedToken, {});
      reply.header("Cache-Control", "no-store");
      const url = `${baseUrl(request)}/members/feed/${token}.ics`;
      return sendPage(request, reply, "Your calendar address", FeedTokenCreated({ url }));
    },
  });
}
