import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS, IDEMPOTENCY_KEY, IF_MATCH } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { createMemberRecord } from "./member-create.actions.ts";
import { cursorAfter, listQuery, ownMemberId } from "./member-input.ts";
import {
  changeMemberStatus,
  deleteMember,
  restoreMember,
  updateMember,
  updateOwnProfile,
} from "./members.actions.ts";
import {
  changesFromJson,
  presentMember,
  presentMemberSummary,
  presentOwnMember,
} from "./members.presenters.ts";
import { findMember, listMembers } from "./members.repository.ts";
import {
  CreateMemberBody,
  MemberChangesBody,
  MemberListOut,
  MemberListQuery,
  MemberOut,
  MemberRefOut,
  OwnChangesBody,
  OwnMemberOut,
  ReasonBody,
  StatusBody,
} from "./members.schemas.ts";

const VersionHeaders = Type.Object({ "if-match": IF_MATCH, "idempotency-key": IDEMPOTENCY_KEY });
const IdempotentHeaders = Type.Object({ "idempotency-key": IDEMPOTENCY_KEY });

/** The version an If-Match header names, or undefined when none was sent (W-4). */
export function ifMatch(request: FastifyRequest): number | undefined {
  const v = versionFrom(request.headers["if-match"], false);
  return Number.isNaN(v) ? undefined : v;
}

/** The ETag a member's version gives; sent with every member a route answers with. */
const withVersion = (reply: FastifyReply, member: { version: number }) =>
  reply.header("ETag", `"v${member.version}"`);

/** The members JSON API: the list, one member, versioned edits, status, deletion and restore, and the
 * member's own record. Who may change whom is each action's policy (members.policies.ts). */
export function memberApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members",
    capability: "members:read",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "Members, filtered and keyset-paginated (next is the cursor for ?after=)",
    schema: { querystring: MemberListQuery, response: { 200: MemberListOut } },
    handler: async (request) => {
      const q = listQuery(request.query);
      const rows = await listMembers(request.server.ctx.database.db, q);
      return { members: rows.map(presentMemberSummary), next: cursorAfter(rows, q.limit) ?? null };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members",
    action: createMemberRecord,
    loadClass: "admin",
    response: "json",
    summary: "Create a member (Idempotency-Key supported)",
    schema: { body: CreateMemberBody, headers: IdempotentHeaders, response: { 201: MemberOut } },
    handler: async (request, reply, action) =>
      action.idempotentJson(reply, request.body, (member) => {
        withVersion(reply, member);
        return { status: 201, body: presentMember(member) };
      }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members/me",
    capability: "profile:write",
    loadClass: "member",
    response: "json",
    degraded: READ,
    summary: "My record, with its version as ETag",
    schema: { response: { 200: OwnMemberOut } },
    handler: async (request, reply) => {
      const member = await findMember(request.server.ctx.database.db, ownMemberId(request));
      if (!member) throw notFound();
      return withVersion(reply, member).send(presentOwnMember(member));
    },
  });

  declareRoute(app, {
    method: "PATCH",
    url: "/api/v1/members/me",
    action: updateOwnProfile,
    loadClass: "member",
    response: "json",
    summary: "Change my contact details and directory choice (If-Match required)",
    schema: { body: OwnChangesBody, headers: VersionHeaders, response: { 200: OwnMemberOut } },
    handler: async (request, reply, action) => {
      const updated = await action.run({
        version: versionFrom(request.headers["if-match"], true),
        changes: changesFromJson(request.body),
      });
      return withVersion(reply, updated).send(presentOwnMember(updated));
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members/:id",
    capability: "members:read",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "One member, with its version as ETag",
    schema: { params: ID_PARAMS, response: { 200: MemberOut } },
    handler: async (request, reply) => {
      const member = await findMember(request.server.ctx.database.db, request.params.id);
      if (!member) throw notFound();
      return withVersion(reply, member).send(presentMember(member));
    },
  });

  declareRoute(app, {
    method: "PATCH",
    url: "/api/v1/members/:id",
    action: updateMember,
    loadClass: "admin",
    response: "json",
    summary:
      "Change a member (If-Match required; 409 when stale). Not a member who holds permissions you do not",
    schema: {
      params: ID_PARAMS,
      body: MemberChangesBody,
      headers: VersionHeaders,
      response: { 200: MemberOut },
    },
    handler: async (request, reply, action) => {
      const updated = await action.run({
        memberId: request.params.id,
        version: versionFrom(request.headers["if-match"], true),
        changes: changesFromJson(request.body),
      });
      return withVersion(reply, updated).send(presentMember(updated));
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/:id/status",
    action: changeMemberStatus,
    loadClass: "admin",
    response: "json",
    summary: "Change a member's status (If-Match optional; Idempotency-Key supported; not one's own)",
    schema: { params: ID_PARAMS, body: StatusBody, headers: VersionHeaders, response: { 200: MemberOut } },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        { memberId: request.params.id, version: ifMatch(request), ...request.body },
        (member) => {
          withVersion(reply, member);
          return { status: 200, body: presentMember(member) };
        },
      ),
  });

  const timeZone = (request: FastifyRequest) => request.server.ctx.config.timeZone;
  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/:id/delete",
    action: deleteMember,
    loadClass: "admin",
    response: "json",
    summary:
      "Soft-delete a member (kept, restorable; not oneself); their registrations for open events are cancelled",
    schema: {
      params: ID_PARAMS,
      body: ReasonBody,
      headers: IdempotentHeaders,
      response: { 200: MemberRefOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(
        reply,
        { memberId: request.params.id, reason: request.body.reason, timeZone: timeZone(request) },
        (row) => ({ status: 200, body: { id: row.id, email: row.email } }),
      ),
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/:id/restore",
    action: restoreMember,
    loadClass: "admin",
    response: "json",
    summary: "Restore a deleted member (Idempotency-Key supported)",
    schema: {
      params: ID_PARAMS,
      body: ReasonBody,
      headers: IdempotentHeaders,
      response: { 200: MemberRefOut },
    },
    handler: async (request, reply, action) =>
      action.idempotentJson(reply, { memberId: request.params.id, reason: request.body.reason }, (row) => ({
        status: 200,
        body: { id: row.id, email: row.email },
      })),
  });
}
