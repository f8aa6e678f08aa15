import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareFormRoute } from "../../http/form-route.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import { appointToCommittee, createCommittee, endCommitteeTerm } from "./committees.actions.ts";
import { committeeTerms, findCommittee, listCommittees } from "./committees.repository.ts";
import {
  AppointForm,
  CommitteeDoneQuery,
  CommitteeForm,
  EndTermForm,
  TERM_PARAMS,
} from "./committees.schemas.ts";
import { CommitteeListView, CommitteeView } from "./committees.views.tsx";

const NOTICES = {
  created: "The committee was created.",
  appointed: "The appointment was saved.",
  ended: "The term was ended.",
} as const;

const canWrite = (request: FastifyRequest) => request.auth.actor.capabilities.has("members:write");

/** Committee pages under /admin/committees. Appointing and ending a chair's term need more than
 * members:write: the actions' policies (committees.policies.ts) say what. */
export function committeeRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/committees",
    capability: "members:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Committees, with a form to create one",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Committees",
        <CommitteeListView
          page={pageContext(request)}
          committees={await listCommittees(request.server.ctx.database.db)}
          canWrite={canWrite(request)}
        />,
      ),
  });

  declareFormRoute(app, {
    url: "/admin/committees",
    action: createCommittee,
    loadClass: "admin",
    summary: "Create a committee (once per form)",
    schema: { body: CommitteeForm },
    submit: (request) => ({
      input: { name: request.body.name ?? "" },
      redirect: (c) => `/admin/committees/${c.id}?done=created`,
    }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/committees/:id",
    capability: "members:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "One committee: its members and terms, appointing and ending terms",
    schema: { params: ID_PARAMS, querystring: CommitteeDoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const committee = await findCommittee(db, request.params.id);
      if (!committee) throw notFound();
      const done = request.query.done;
      return sendPage(
        request,
        reply,
        committee.name,
        <CommitteeView
          page={pageContext(request)}
          committee={committee}
          terms={await committeeTerms(db, committee.id)}
          canWrite={canWrite(request)}
          notice={done ? NOTICES[done] : undefined}
        />,
      );
    },
  });

  declareFormRoute(app, {
    url: "/admin/committees/:id/appoint",
    action: appointToCommittee,
    loadClass: "admin",
    summary: "Appoint a member (by email) as chair or member for a term; a chair needs roles:grant",
    schema: { params: ID_PARAMS, body: AppointForm },
    submit: ({ params: { id }, body, server }) => ({
      input: {
        committeeId: id,
        memberEmail: body.email,
        role: body.role ?? "",
        startsAt: body.starts_on,
        endsAt: body.ends_on,
        timeZone: server.ctx.config.timeZone,
        reason: body.reason,
      },
      redirect: () => `/admin/committees/${id}?done=appointed`,
    }),
  });

  declareFormRoute(app, {
    url: "/admin/committees/:id/terms/:termId/end",
    action: endCommitteeTerm,
    loadClass: "admin",
    summary: "End a term now (an upcoming term is cancelled); ending a chair's term needs roles:grant",
    schema: { params: TERM_PARAMS, body: EndTermForm },
    submit: ({ params: { id, termId }, body }) => ({
      input: { committeeId: id, termId, reason: body.reason ?? "" },
      redirect: () => `/admin/committees/${id}?done=ended`,
    }),
  });
}
