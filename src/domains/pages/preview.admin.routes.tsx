import type { FastifyInstance } from "fastify";
import { invalidInput } from "../../core/errors.ts";
import { fromLocalInput } from "../../http/local-time.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { LINK_PARAMS, PreviewLinkForm, ScheduleForm, VersionForm } from "./pages.schemas.ts";
import { createPreviewLink, revokePreviewLinkAction } from "./preview.actions.ts";
import { NewLinkView } from "./preview.views.tsx";
import { cancelScheduledPublish, schedulePublish } from "./scheduled-publish.actions.ts";

/* The editor's forms for share links and scheduled publishing; each runs its action. */

/** The editor's share-link and schedule routes. */
export function previewAdminRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "POST",
    url: "/admin/pages/:id/preview-links",
    action: createPreviewLink,
    loadClass: "admin",
    response: "html",
    summary: "Make a share link to one revision (shown once; expires, at most in 7 days)",
    schema: { params: ID_PARAMS, body: PreviewLinkForm },
    handler: async (request, reply, action) => {
      const revision = Number((request.body.revision ?? "").trim());
      const hoursText = (request.body.hours ?? "").trim();
      if (!Number.isInteger(revision) || revision < 1) throw invalidInput("Choose a revision from the list.");
      if (hoursText && !/^\d{1,3}$/.test(hoursText))
        throw invalidInput("How long the link works is a whole number of hours, like 24.");
      const made = await action.run({
        pageId: request.params.id,
        revision,
        hours: hoursText ? Number(hoursText) : undefined,
      });
      const origin = `${request.protocol}://${request.host}`;
      return sendPage(
        request,
        reply,
        "Preview link",
        <NewLinkView
          pageId={request.params.id}
          url={`${origin}/preview/link/${made.token}`}
          revision={made.revision}
          expiresAt={made.expiresAt}
          timeZone={request.server.ctx.config.timeZone}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/pages/:id/preview-links/:linkId/revoke",
    action: revokePreviewLinkAction,
    loadClass: "admin",
    response: "html",
    summary: "Revoke one share link: it shows an error page from now on",
    schema: { params: LINK_PARAMS, body: VersionForm },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        { pageId: request.params.id, linkId: request.params.linkId },
        () => `/admin/pages/${request.params.id}?done=saved`,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/pages/:id/schedule",
    action: schedulePublish,
    loadClass: "admin",
    response: "html",
    summary: "Schedule the draft to be published at a time (club time zone)",
    schema: { params: ID_PARAMS, body: ScheduleForm },
    handler: async (request, reply, action) => {
      const at = fromLocalInput(request.body.publishAt, request.server.ctx.config.timeZone);
      if (!at) throw invalidInput("Choose the date and time to publish at.");
      return action.oncePerForm(
        reply,
        {
          pageId: request.params.id,
          version: versionFrom(request.body.version, true),
          publishAt: new Date(at),
        },
        () => `/admin/pages/${request.params.id}?done=saved`,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/pages/:id/schedule/cancel",
    action: cancelScheduledPublish,
    loadClass: "admin",
    response: "html",
    summary: "Cancel the page's scheduled publish",
    schema: { params: ID_PARAMS, body: VersionForm },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        { pageId: request.params.id },
        () => `/admin/pages/${request.params.id}?done=saved`,
      ),
  });
}
