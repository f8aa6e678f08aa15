import type { FastifyInstance, FastifyRequest } from "fastify";
import { runAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { ADMIN_WRITE, READ } from "../../http/declarations.ts";
import { idempotentJson, oncePerFormToken } from "../../http/idempotent-reply.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { appointToCommittee, createCommittee, endCommitteeTerm } from "./committees.actions.ts";
import { committeeTerms, findCommittee, listCommittees } from "./committees.repository.ts";
import { CommitteeListView, CommitteeView } from "./committees.views.tsx";

const uuid = { type: "string", format: "uuid" } as const;
const ID = { type: "object", required: ["id"], properties: { id: uuid } } as const;
const TERM = { type: "object", required: ["id", "termId"], properties: { id: uuid, termId: uuid } } as const;
const REASON = { type: "string", maxLength: 1000 } as const;
const NOTICES: Record<string, string> = {
  created: "The committee was created.",
  appointed: "The appointment was saved.",
  ended: "The term was ended.",
};

const text = (body: Record<string, unknown>, key: string) =>
  body[key] === undefined ? undefined : String(body[key]);

async function loadCommittee(request: FastifyRequest) {
  const db = request.server.ctx.database.db;
  const committee = await findCommittee(db, (request.params as { id: string }).id);
  if (!committee) throw notFound();
  return { committee, terms: await committeeTerms(db, committee.id) };
}

/** Committee pages under /admin/committees and the committees JSON API. */
export function committeeRoutes(app: FastifyInstance): void {
  const admin = { loadClass: "admin", capability: "members:read", degraded: READ } as const;
  const write = { loadClass: "admin", capability: "members:write", degraded: ADMIN_WRITE } as const;

  declareRoute(app, {
    ...admin,
    method: "GET",
    url: "/admin/committees",
    response: "html",
    summary: "Committees, with a form to create one",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Committees",
        <CommitteeListView
          request={request}
          committees={await listCommittees(request.server.ctx.database.db)}
          canWrite={request.auth.actor.capabilities.has("members:write")}
        />,
      ),
  });

  declareRoute(app, {
    ...write,
    method: "POST",
    url: "/admin/committees",
    response: "html",
    summary: "Create a committee (once per form)",
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      return oncePerFormToken(
        request,
        reply,
        createCommittee,
        { name: text(body, "name") ?? "" },
        (c) => `/admin/committees/${c.id}?done=created`,
      );
    },
  });

  declareRoute(app, {
    ...admin,
    method: "GET",
    url: "/admin/committees/:id",
    response: "html",
    summary: "One committee: its members and terms, appointing and ending terms",
    handler: async (request, reply) => {
      const { committee, terms } = await loadCommittee(request);
      const done = (request.query as { done?: string }).done;
      return sendPage(
        request,
        reply,
        committee.name,
        <CommitteeView
          request={request}
          committee={committee}
          terms={terms}
          canWrite={request.auth.actor.capabilities.has("members:write")}
          timeZone={request.server.ctx.config.timeZone}
          notice={done ? NOTICES[done] : undefined}
        />,
      );
    },
  });

  declareRoute(app, {
    ...write,
    method: "POST",
    url: "/admin/committees/:id/appoint",
    response: "html",
    summary: "Appoint a member (by email) as chair or member for a term; a chair needs roles:grant",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as Record<string, unknown>;
      return oncePerFormToken(
        request,
        reply,
        appointToCommittee,
        {
          committeeId: id,
          memberEmail: text(body, "email"),
          role: text(body, "role") ?? "",
          startsAt: text(body, "starts_on"),
          endsAt: text(body, "ends_on"),
          timeZone: request.server.ctx.config.timeZone,
          reason: text(body, "reason"),
        },
        () => `/admin/committees/${id}?done=appointed`,
      );
    },
  });

  declareRoute(app, {
    ...write,
    method: "POST",
    url: "/admin/committees/:id/terms/:termId/end",
    response: "html",
    summary: "End a term now (an upcoming term is cancelled); ending a chair's term needs roles:grant",
    schema: { params: TERM },
    handler: async (request, reply) => {
      const { id, termId } = request.params as { id: string; termId: string };
      const body = (request.body ?? {}) as Record<string, unknown>;
      return oncePerFormToken(
        request,
        reply,
        endCommitteeTerm,
        { committeeId: id, termId, reason: text(body, "reason") ?? "" },
        () => `/admin/committees/${id}?done=ended`,
      );
    },
  });

  declareRoute(app, {
    ...admin,
    method: "GET",
    url: "/api/v1/committees",
    response: "json",
    summary: "Committees, with how many serve on each now",
    handler: async (request) => ({ committees: await listCommittees(request.server.ctx.database.db) }),
  });

  declareRoute(app, {
    ...write,
    method: "POST",
    url: "/api/v1/committees",
    response: "json",
    summary: "Create a committee (Idempotency-Key supported)",
    schema: {
      body: {
        type: "object",
        additionalProperties: false,
        required: ["name"],
        properties: { name: { type: "string", minLength: 1, maxLength: 200 }, reason: REASON },
      },
    },
    handler: async (request, reply) =>
      idempotentJson(
        request,
        reply,
        createCommittee,
        request.body as { name: string; reason?: string },
        (c) => ({
          status: 201,
          body: c,
        }),
      ),
  });

  declareRoute(app, {
    ...admin,
    method: "GET",
    url: "/api/v1/committees/:id",
    response: "json",
    summary: "One committee with every term (state: current, upcoming or ended)",
    handler: async (request) => {
      const { committee, terms } = await loadCommittee(request);
      return { committee, terms };
    },
  });

  declareRoute(app, {
    ...write,
    method: "POST",
    url: "/api/v1/committees/:id/appointments",
    response: "json",
    summary:
      "Appoint a member (memberId or memberEmail) as chair or member; startsAt/endsAt are ISO times or club dates (endsAt: last day)",
    schema: {
      params: ID,
      body: {
        type: "object",
        additionalProperties: false,
        required: ["role"],
        properties: {
          memberId: uuid,
          memberEmail: { type: "string", maxLength: 320 },
          role: { type: "string", enum: ["chair", "member"] },
          startsAt: { type: ["string", "null"], maxLength: 40 },
          endsAt: { type: ["string", "null"], maxLength: 40 },
          reason: REASON,
        },
      },
    },
    handler: async (request, reply) => {
      const body = request.body as Record<string, string | undefined>;
      return idempotentJson(
        request,
        reply,
        appointToCommittee,
        {
          committeeId: (request.params as { id: string }).id,
          memberId: body.memberId,
          memberEmail: body.memberEmail,
          role: body.role ?? "",
          startsAt: body.startsAt,
          endsAt: body.endsAt,
          timeZone: request.server.ctx.config.timeZone,
          reason: body.reason,
        },
        (term) => ({ status: 201, body: term }),
      );
    },
  });

  declareRoute(app, {
    ...write,
    method: "POST",
    url: "/api/v1/committees/:id/terms/:termId/end",
    response: "json",
    summary: "End a term now (an upcoming term is cancelled)",
    schema: {
      params: TERM,
      body: {
        type: "object",
        additionalProperties: false,
        required: ["reason"],
        properties: { reason: { ...REASON, minLength: 1 } },
      },
    },
    handler: async (request) => {
      const { id, termId } = request.params as { id: string; termId: string };
      return runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), endCommitteeTerm, {
        committeeId: id,
        termId,
        reason: (request.body as { reason: string }).reason,
      });
    },
  });
}
