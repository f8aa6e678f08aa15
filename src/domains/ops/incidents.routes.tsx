import type { FastifyInstance } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import {
  addIncidentNote,
  closeIncident,
  openIncident,
  recordDecision,
  setAreaOwner,
} from "./incidents.actions.ts";
import {
  incidentEntries,
  incidentWithOwner,
  latestInvariantRun,
  listAreaOwners,
  listIncidents,
} from "./incidents.repository.ts";
import {
  AreaOwnerForm,
  CloseIncidentForm,
  IncidentDecisionForm,
  type IncidentDone,
  IncidentDoneQuery,
  IncidentNoteForm,
  OpenIncidentForm,
} from "./incidents.schemas.ts";
import { IncidentsView, IncidentView } from "./incidents.views.tsx";

const NOTICES: Record<IncidentDone, string> = {
  opened: "The incident is open. Mode and kill-switch changes are now recorded on it as decisions.",
  noted: "Note added.",
  decided: "Decision recorded.",
  closed: "The incident is closed.",
  owner: "Owner named.",
};

/** The incident log's pages (H-1..H-4): the list with the owners and the latest scan, one incident with
 * its timeline, and the forms (plain HTML forms, once per form, CSRF-checked by the guards). */
export function incidentRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/incidents",
    capability: "incidents:manage",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Incidents, the owner of each critical area, and the rows the latest invariant scan flagged",
    schema: { querystring: IncidentDoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const incidents = await listIncidents(db);
      const state = request.server.ctx.modes.current();
      const done = request.query.done;
      return sendPage(
        request,
        reply,
        "Incidents",
        <IncidentsView
          page={pageContext(request)}
          incidents={incidents}
          owners={await listAreaOwners(db)}
          scan={await latestInvariantRun(db)}
          degradedWithoutIncident={
            Boolean(state?.degradedSince) && !incidents.some((i) => i.status === "open")
          }
          notice={done ? NOTICES[done] : undefined}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/incidents",
    action: openIncident,
    loadClass: "admin",
    response: "html",
    summary: "Declare an incident (once per form)",
    schema: { body: OpenIncidentForm },
    handler: async (request, reply, action) => {
      const { severity, title, area, note, stopWrites } = request.body;
      return action
        .oncePerForm(
          reply,
          { severity: severity ?? "", title: title ?? "", area, note, readOnly: stopWrites === "true" },
          (incident) => `/admin/incidents/${incident.id}?done=opened`,
        )
        .finally(() => request.server.ctx.modes.refresh());
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/incidents/owners",
    action: setAreaOwner,
    loadClass: "admin",
    response: "html",
    summary: "Name the owner of a critical area (once per form)",
    schema: { body: AreaOwnerForm },
    handler: async (request, reply, action) =>
      action
        .oncePerForm(
          reply,
          { area: request.body.area ?? "", email: request.body.email ?? "" },
          () => "/admin/incidents?done=owner",
        )
        .finally(() => request.server.ctx.modes.refresh()),
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/incidents/:id",
    capability: "incidents:manage",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "One incident: who it goes to, its timeline of notes, decisions and confirmations",
    schema: { params: ID_PARAMS, querystring: IncidentDoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const incident = await incidentWithOwner(db, request.params.id);
      if (!incident) throw notFound();
      const done = request.query.done;
      return sendPage(
        request,
        reply,
        `INC-${incident.number}`,
        <IncidentView
          page={pageContext(request)}
          incident={incident}
          entries={await incidentEntries(db, incident.id)}
          notice={done ? NOTICES[done] : undefined}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/incidents/:id/notes",
    action: addIncidentNote,
    loadClass: "admin",
    response: "html",
    summary: "Add a note to an open incident (once per form)",
    schema: { params: ID_PARAMS, body: IncidentNoteForm },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        { incidentId: request.params.id, text: request.body.text ?? "" },
        () => `/admin/incidents/${request.params.id}?done=noted`,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/incidents/:id/decisions",
    action: recordDecision,
    loadClass: "admin",
    response: "html",
    summary: "Record a decision taken outside ClubOS on an open incident (once per form)",
    schema: { params: ID_PARAMS, body: IncidentDecisionForm },
    handler: async (request, reply, action) =>
      action.oncePerForm(
        reply,
        {
          incidentId: request.params.id,
          action: request.body.action ?? "",
          rationale: request.body.rationale ?? "",
        },
        () => `/admin/incidents/${request.params.id}?done=decided`,
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/incidents/:id/close",
    action: closeIncident,
    loadClass: "admin",
    response: "html",
    summary: "Close an incident; a SEV-1 only with its review (once per form)",
    schema: { params: ID_PARAMS, body: CloseIncidentForm },
    handler: async (request, reply, action) =>
      action
        .oncePerForm(
          reply,
          { incidentId: request.params.id, review: request.body.review },
          () => `/admin/incidents/${request.params.id}?done=closed`,
        )
        .finally(() => request.server.ctx.modes.refresh()),
  });
}
