import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareFormRoute } from "../../http/form-route.ts";
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

/** Declaring an incident may stop writes, and closing one or naming an owner changes the operator
 * alerts: the mode watcher re-reads both once the action has ended, so the next page shows them. */
const refreshModes = (request: FastifyRequest) => request.server.ctx.modes.refresh();

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

  declareFormRoute(app, {
    url: "/admin/incidents",
    action: openIncident,
    loadClass: "admin",
    summary: "Declare an incident (once per form)",
    schema: { body: OpenIncidentForm },
    submit: ({ body: { severity, title, area, note, stopWrites } }) => ({
      input: { severity: severity ?? "", title: title ?? "", area, note, readOnly: stopWrites === "true" },
      redirect: (incident) => `/admin/incidents/${incident.id}?done=opened`,
    }),
    afterwards: refreshModes,
  });

  declareFormRoute(app, {
    url: "/admin/incidents/owners",
    action: setAreaOwner,
    loadClass: "admin",
    summary: "Name the owner of a critical area (once per form)",
    schema: { body: AreaOwnerForm },
    submit: ({ body }) => ({
      input: { area: body.area ?? "", email: body.email ?? "" },
      redirect: () => "/admin/incidents?done=owner",
    }),
    afterwards: refreshModes,
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

  declareFormRoute(app, {
    url: "/admin/incidents/:id/notes",
    action: addIncidentNote,
    loadClass: "admin",
    summary: "Add a note to an open incident (once per form)",
    schema: { params: ID_PARAMS, body: IncidentNoteForm },
    submit: ({ params: { id }, body }) => ({
      input: { incidentId: id, text: body.text ?? "" },
      redirect: () => `/admin/incidents/${id}?done=noted`,
    }),
  });

  declareFormRoute(app, {
    url: "/admin/incidents/:id/decisions",
    action: recordDecision,
    loadClass: "admin",
    summary: "Record a decision taken outside ClubOS on an open incident (once per form)",
    schema: { params: ID_PARAMS, body: IncidentDecisionForm },
    submit: ({ params: { id }, body }) => ({
      input: { incidentId: id, action: body.action ?? "", rationale: body.rationale ?? "" },
      redirect: () => `/admin/incidents/${id}?done=decided`,
    }),
  });

  declareFormRoute(app, {
    url: "/admin/incidents/:id/close",
    action: closeIncident,
    loadClass: "admin",
    summary: "Close an incident; a SEV-1 only with its review (once per form)",
    schema: { params: ID_PARAMS, body: CloseIncidentForm },
    submit: ({ params: { id }, body }) => ({
      input: { incidentId: id, review: body.review },
      redirect: () => `/admin/incidents/${id}?done=closed`,
    }),
    afterwards: refreshModes,
  });
}
