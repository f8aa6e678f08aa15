import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { runAction } from "../../core/action.ts";
import type { Actor } from "../../core/actor.ts";
import { ClubError } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { READ, WRITE } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { LinkParams } from "../identity/identity.schemas.ts";
import { audienceFrom } from "./announcement-input.ts";
import {
  type AnnouncementSettings,
  describeAudience,
  sendAnnouncement,
  splitAudience,
  unsubscribeFromAnnouncements,
  unsubscribePath,
} from "./announcements.actions.ts";
import {
  announcementHistory,
  audienceChoices,
  audienceMembers,
  unsubscribeLinkOwner,
} from "./announcements.repository.ts";
import {
  AnnouncementForm,
  AnnouncementHistoryQuery,
  AnnouncementPreviewQuery,
  UnsubscribeForm,
} from "./announcements.schemas.ts";
import {
  type AnnouncementDraft,
  AnnouncementFormView,
  AnnouncementHistoryView,
  type AudienceCount,
  UnsubscribeDeadView,
  UnsubscribedView,
  UnsubscribeView,
} from "./announcements.views.tsx";

const HISTORY = 100;

/** Links in announcements point at the configured public address (CLUBOS_PUBLIC_URL, as invitation
 * links do), never at a request's Host. */
export function settingsOf(request: FastifyRequest): AnnouncementSettings {
  const { publicUrl, clubName } = request.server.ctx.config;
  return { publicUrl, clubName };
}

const draftOf = (q: Partial<Record<keyof AnnouncementDraft, string>>): AnnouncementDraft => ({
  subject: q.subject ?? "",
  body: q.body ?? "",
  status: q.status || "active",
  tier: q.tier ?? "",
  committee: q.committee ?? "",
  event: q.event ?? "",
});

function deadLink(request: FastifyRequest, reply: FastifyReply) {
  return sendPage(request, reply, "Unsubscribe", <UnsubscribeDeadView />, 404);
}

/** Announcements: writing one (with a preview and the recipient count), sending it, the history with
 * what became of each, and the public one-click unsubscribe link (RFC 8058). */
export function announcementRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/announcements",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Sent announcements with their counts (queued, sent, held, failed, skipped) from the outbox",
    schema: { querystring: AnnouncementHistoryQuery },
    handler: async (request, reply) => {
      const rows = await announcementHistory(request.server.ctx.database.db, HISTORY);
      const sending = rows.some((r) => r.queued > 0);
      return sendPage(
        request,
        reply,
        "Announcements",
        <AnnouncementHistoryView
          rows={rows}
          notice={
            request.query.done === "sent"
              ? "The announcement is queued; the counts below show it going out."
              : undefined
          }
        />,
        200,
        sending ? { refreshSeconds: 10 } : {},
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/announcements/new",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Write an announcement; with its fields, a preview and the recipient count (nothing is sent)",
    schema: { querystring: AnnouncementPreviewQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const draft = draftOf(request.query);
      const choices = await audienceChoices(db);
      const previewing = request.query.subject !== undefined || request.query.body !== undefined;
      let count: AudienceCount | undefined;
      let error: string | undefined;
      if (previewing) {
        try {
          const audience = audienceFrom(draft);
          const label = await describeAudience(db, audience);
          const members = await audienceMembers(db, audience);
          const split = splitAudience(members);
          count = {
            label,
            total: members.length,
            recipients: split.recipients.length,
            optedOut: split.optedOut,
            undeliverable: split.undeliverable,
          };
          if (!draft.subject.trim() || !draft.body.trim()) {
            error = "Write a subject and a message before sending.";
            count = { ...count, recipients: 0 };
          }
        } catch (e) {
          if (!(e instanceof ClubError)) throw e;
          error = e.message;
        }
      }
      return sendPage(
        request,
        reply,
        "New announcement",
        <AnnouncementFormView
          page={pageContext(request)}
          draft={draft}
          choices={choices}
          count={count}
          error={error}
        />,
        error && !count ? 400 : 200,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/announcements",
    action: sendAnnouncement,
    loadClass: "admin",
    response: "html",
    summary:
      "Send an announcement: one outbox message per recipient, opted-out and undeliverable skipped (once per form)",
    schema: { body: AnnouncementForm },
    handler: async (request, reply, action) => {
      const draft = draftOf(request.body);
      return action.oncePerForm(
        reply,
        {
          subject: draft.subject,
          body: draft.body,
          audience: audienceFrom(draft),
          settings: settingsOf(request),
        },
        () => "/admin/announcements?done=sent",
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/unsubscribe/:token",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary:
      "The page behind an announcement's unsubscribe link: a button, so opening the link changes nothing",
    schema: { params: LinkParams },
    handler: async (request, reply) => {
      const { token } = request.params;
      const owner = await unsubscribeLinkOwner(request.server.ctx.database.db, hashSecret(token));
      if (!owner) return deadLink(request, reply);
      return sendPage(
        request,
        reply,
        "Stop announcements",
        <UnsubscribeView
          page={pageContext(request)}
          name={owner.name}
          action={unsubscribePath(token)}
          alreadyOff={!owner.email_announcements}
        />,
      );
    },
  });

  // No action of its own, like the link pages: the link names the member, and their action runs as them.
  declareRoute(app, {
    method: "POST",
    url: "/unsubscribe/:token",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: WRITE,
    summary:
      "One-click unsubscribe (RFC 8058): turns the link's member's announcements off, idempotent, audited",
    schema: { params: LinkParams, body: UnsubscribeForm },
    handler: async (request, reply) => {
      const { token } = request.params;
      const ctx = request.server.ctx;
      const owner = await unsubscribeLinkOwner(ctx.database.db, hashSecret(token));
      if (!owner) return deadLink(request, reply);
      const actor: Actor = {
        type: "member",
        memberId: owner.memberId,
        name: owner.name,
        capabilities: new Set(),
      };
      await runAction(ctx.actionEnv(actor, request.id), unsubscribeFromAnnouncements, { token });
      return sendPage(request, reply, "Announcements are off", <UnsubscribedView />);
    },
  });
}
