import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS, IDEMPOTENCY_KEY } from "../../http/schema.ts";
import { audienceFrom } from "./announcement-input.ts";
import { sendAnnouncement } from "./announcements.actions.ts";
import {
  presentAnnouncement,
  presentAnnouncementSent,
  presentAnnouncementSummary,
} from "./announcements.presenters.ts";
import { announcementHistory, announcementWithCounts } from "./announcements.repository.ts";
import { settingsOf } from "./announcements.routes.tsx";
import {
  AnnouncementListOut,
  AnnouncementOut,
  AnnouncementSentOut,
  SendAnnouncementBody,
} from "./announcements.schemas.ts";

const IdempotentHeaders = Type.Object({ "idempotency-key": IDEMPOTENCY_KEY });
const LIST = 100;

/** The announcements JSON API: the same history, capability and send action as /admin/announcements. */
export function announcementApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/api/v1/announcements",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "The 100 newest announcements with their counts (queued, held, sent, failed, skipped)",
    schema: { response: { 200: AnnouncementListOut } },
    handler: async (request) => ({
      announcements: (await announcementHistory(request.server.ctx.database.db, LIST)).map(
        presentAnnouncementSummary,
      ),
    }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/announcements/:id",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "One announcement: its text, audience and counts",
    schema: { params: ID_PARAMS, response: { 200: AnnouncementOut } },
    handler: async (request) => {
      const found = await announcementWithCounts(request.server.ctx.database.db, request.params.id);
      if (!found) throw notFound();
      return { announcement: presentAnnouncement(found) };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/announcements",
    action: sendAnnouncement,
    loadClass: "admin",
    response: "json",
    summary:
      "Send an announcement: one outbox message per recipient, opted-out and undeliverable skipped (Idempotency-Key supported; refused past the outbox bound)",
    schema: {
      body: SendAnnouncementBody,
      headers: IdempotentHeaders,
      response: { 201: AnnouncementSentOut },
    },
    handler: async (request, reply, action) => {
      const { subject, body, audience = {} } = request.body;
      return action.idempotentJson(
        reply,
        {
          subject,
          body,
          audience: audienceFrom({
            status: audience.status,
            tier: audience.tierKey,
            committee: audience.committeeId,
            event: audience.eventId,
          }),
          settings: settingsOf(request),
        },
        (sent) => ({ status: 201, body: presentAnnouncementSent(sent) }),
      );
    },
  });
}
