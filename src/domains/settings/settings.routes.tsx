import type { FastifyInstance } from "fastify";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { listTiers } from "../members/members.repository.ts";
import { setJoinForm } from "./settings.actions.ts";
import { readClubSettings } from "./settings.repository.ts";
import { JoinFormSwitch, SettingsQuery } from "./settings.schemas.ts";
import { SettingsView } from "./settings.views.tsx";

/** The club settings page, and the switch of the online join form. */
export function settingsRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/settings",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary:
      "The club's settings: whether the online join form is open, how each tier's approved applicants start",
    schema: { querystring: SettingsQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const [settings, tiers] = await Promise.all([readClubSettings(db), listTiers(db)]);
      return sendPage(
        request,
        reply,
        "Club settings",
        <SettingsView
          page={pageContext(request)}
          joinFormOpen={settings.joinFormOpen}
          tiers={tiers.map((t) => ({ key: t.key, name: t.name, joinStatus: t.join_status }))}
          done={request.query.done}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/settings/join-form",
    action: setJoinForm,
    loadClass: "admin",
    response: "html",
    summary: "Open or close the public join form (audited)",
    schema: { body: JoinFormSwitch },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        { open: request.body.open === "on" },
        (result) => `/admin/settings?done=${result.open ? "join_form_opened" : "join_form_closed"}`,
      ),
  });
}
