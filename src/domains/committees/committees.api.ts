import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS, IDEMPOTENCY_KEY } from "../../http/schema.ts";
import { appointToCommittee, createCommittee, endCommitteeTerm } from "./committees.actions.ts";
import {
  presentCommittee,
  presentCommitteeSummary,
  presentCommitteeTerm,
  presentTerm,
} from "./committees.presenters.ts";
import { committeeTerms, findCommittee, listCommittees } from "./committees.repository.ts";
import {
  AppointBody,
  CommitteeDetailOut,
  CommitteeListOut,
  CommitteeOut,
  CreateCommitteeBody,
  EndTermBody,
  TERM_PARAMS,
  TermOut,
} from "./committees.schemas.ts";

const IdempotentHeaders = Type.Object({ "idempotency-key": IDEMPOTENCY_KEY });

/** The committees JSON API. */
export function committeeApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/api/v1/committees",
    capability: "members:read",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "Committees, with how many serve on each now",
    schema: { response: { 200: CommitteeListOut } },
    handler: async (request) => ({
      committees: (await listCommittees(request.server.ctx.database.db)).map(presentCommitteeSummary),
    }),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/committees",
    action: createCommittee,
    loadClass: "admin",
    response: "json",
    summary: "Create a committee (Idempotency-Key supported)",
    schema: { body: CreateCommitteeBody, headers: IdempotentHeaders, response: { 201: CommitteeOut } },
    handler: async (request, reply, action) =>
      action.idempotentJson(reply, request.body, (c) => ({ status: 201, body: presentCommittee(c) })),
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/committees/:id",
    capability: "members:read",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "One committee with every term (state: current, upcoming or ended)",
    schema: { params: ID_PARAMS, response: { 200: CommitteeDetailOut } },
    handler: async (request) => {
      const db = request.server.ctx.database.db;
      const committee = await findCommittee(db, request.params.id);
      if (!committee) throw notFound();
      return {
        committee: presentCommittee(committee),
        terms: (await committeeTerms(db, committee.id)).map(presentCommitteeTerm),
      };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/committees/:id/appointments",
    action: appointToCommittee,
    loadClass: "admin",
    response: "json",
    summary:
      "Appoint a member (memberId or memberEmail) as chair or member; startsAt/endsAt are ISO times or club dates (endsAt: last day); a chair needs roles:grant and events:manage",
    schema: {
      params: ID_PARAMS,
      body: AppointBody,
      headers: IdempotentHeaders,
      response: { 201: TermOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        {
          ...request.body,
          committeeId: request.params.id,
          timeZone: request.server.ctx.config.timeZone,
        },
        (term) => ({ status: 201, body: presentTerm(term) }),
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/committees/:id/terms/:termId/end",
    action: endCommitteeTerm,
    loadClass: "admin",
    response: "json",
    summary: "End a term now (an upcoming term is cancelled; Idempotency-Key supported)",
    schema: {
      params: TERM_PARAMS,
      body: EndTermBody,
      headers: IdempotentHeaders,
      response: { 200: TermOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        { committeeId: request.params.id, termId: request.params.termId, reason: request.body.reason },
        (term) => ({ status: 200, body: presentTerm(term) }),
      ),
  });
}
