import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ComponentChildren } from "preact";
import { type ActionEnv, runAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { ADMIN_WRITE, ID, READ, WRITE } from "../../http/declarations.ts";
import { idempotentJson } from "../../http/idempotent-reply.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { versionFrom } from "../../http/versions.ts";
import { chairedCommittees, isUuid, listCommittees } from "../committees/committees.repository.ts";
import { createMemberRecord } from "./member-create.actions.ts";
import {
  changeMemberStatus,
  deleteMember,
  type MemberChanges,
  restoreMember,
  updateMember,
  updateOwnProfile,
} from "./members.actions.ts";
import {
  directory,
  findMember,
  listMembers,
  listTiers,
  type MemberListQuery,
  statusHistory,
} from "./members.repository.ts";
import { DirectoryView, MemberAdminView, MemberListView, ProfileView } from "./members.views.tsx";

const CHANGES = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    name: { type: "string", minLength: 1, maxLength: 200 },
    email: { type: "string", minLength: 3, maxLength: 320 },
    phone: { type: "string", maxLength: 40 },
    address: { type: "string", maxLength: 500 },
    directory_opt_out: { type: "boolean" },
    joined_on: { type: "string", format: "date" },
    tier_key: { type: ["string", "null"] },
    renewal_due_on: { type: ["string", "null"], format: "date" },
    admin_notes: { type: "string", maxLength: 5000 },
  },
} as const;

function memberId(request: FastifyRequest): string {
  const { actor } = request.auth;
  if (actor.type !== "member") throw notFound();
  return actor.memberId;
}

function formChanges(body: Record<string, unknown>, admin: boolean): MemberChanges {
  const text = (k: string) => (body[k] === undefined ? undefined : String(body[k]));
  const changes: MemberChanges = {
    name: text("name"),
    phone: text("phone"),
    address: text("address"),
    directory_opt_out: body.directory_opt_out === "1" || body.directory_opt_out === "on",
  };
  if (admin) {
    Object.assign(changes, {
      email: text("email"),
      joined_on: text("joined_on") || undefined,
      tier_key: text("tier_key") || null,
      renewal_due_on: text("renewal_due_on") || null,
      admin_notes: text("admin_notes"),
    });
  }
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as MemberChanges;
}

function sendMember(reply: FastifyReply, member: { version: number }) {
  return reply.header("ETag", `"v${member.version}"`).send(member);
}

const NO_COMMITTEE = "00000000-0000-0000-0000-000000000000";

function listQuery(q: Record<string, string | undefined>): MemberListQuery {
  const limit = Math.min(Math.max(Number(q.limit) || 50, 1), 200);
  let after: MemberListQuery["after"];
  if (q.after) {
    const [key, id] = Buffer.from(q.after, "base64url").toString("utf8").split("\n");
    if (key !== undefined && id && UUID.test(id)) after = { key, id };
  }
  return {
    search: q.search?.trim() || undefined,
    status: q.status && q.status !== "deleted" ? q.status : undefined,
    deleted: q.status === "deleted",
    tier: q.tier || undefined,
    // A malformed committee id matches nobody rather than being ignored (or reaching PostgreSQL).
    committeeId: q.committee ? (isUuid(q.committee) ? q.committee : NO_COMMITTEE) : undefined,
    sort: q.sort === "joined" ? "joined" : "name",
    after,
    limit,
  };
}

const cursorOf = (rows: { sort_key: string; id: string }[], limit: number) => {
  const last = rows.at(-1);
  return rows.length === limit && last
    ? Buffer.from(`${last.sort_key}\n${last.id}`).toString("base64url")
    : undefined;
};

/** A part of "My details" another domain contributes (the calendar feed), wired in by the app. */
export type ProfileSection = (request: FastifyRequest) => Promise<ComponentChildren>;

/** Profiles, the directory, the admin member pages and the members JSON API. */
export function memberRoutes(
  app: FastifyInstance,
  options: { profileSections?: ProfileSection[] } = {},
): void {
  declareRoute(app, {
    method: "GET",
    url: "/members/me",
    capability: "profile:write",
    loadClass: "member",
    response: "html",
    degraded: READ,
    summary: "My details",
    handler: async (request, reply) => {
      const member = await findMember(request.server.ctx.database.db, memberId(request));
      if (!member) throw notFound();
      const sections = await Promise.all((options.profileSections ?? []).map((section) => section(request)));
      // A chair without admin:access has no Admin link, so their committees' events are reached from here.
      const chairs = (await chairedCommittees(request.server.ctx.database.db, member.id)).length > 0;
      return sendPage(
        request,
        reply,
        "My details",
        <>
          <ProfileView
            request={request}
            member={member}
            saved={(request.query as { saved?: string }).saved === "1"}
          />
          {chairs ? (
            <p>
              <a href="/admin/events">Events of the committees you chair</a>
            </p>
          ) : null}
          {sections}
        </>,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/members/me",
    capability: "profile:write",
    loadClass: "member",
    response: "html",
    degraded: WRITE,
    summary: "Save my details (refused with 409 if they changed since the form was opened)",
    handler: async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      await runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), updateOwnProfile, {
        version: versionFrom(body.version, true),
        changes: formChanges(body, false),
      });
      return reply.redirect("/members/me?saved=1", 303);
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/directory",
    capability: "directory:read",
    loadClass: "member",
    response: "html",
    degraded: READ,
    summary: "Member directory (members who did not opt out)",
    handler: async (request, reply) => {
      const query = request.query as { q?: string; committee?: string };
      const search = query.q?.trim() || undefined;
      const committee = query.committee?.trim() || undefined;
      const db = request.server.ctx.database.db;
      // A malformed committee id matches nobody rather than being ignored.
      const rows = committee && !isUuid(committee) ? [] : await directory(db, search, 100, committee);
      return sendPage(
        request,
        reply,
        "Member directory",
        <DirectoryView
          rows={rows}
          search={search}
          committees={await listCommittees(db)}
          committee={committee}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/members",
    capability: "members:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Admin member list: search, filters, sorting, keyset pages",
    handler: async (request, reply) => {
      const raw = request.query as Record<string, string>;
      const q = listQuery(raw);
      const rows = await listMembers(request.server.ctx.database.db, q);
      const cursor = cursorOf(rows, q.limit);
      const next = cursor ? `/admin/members?${new URLSearchParams({ ...raw, after: cursor })}` : undefined;
      const db = request.server.ctx.database.db;
      return sendPage(
        request,
        reply,
        "Members",
        <MemberListView
          rows={rows}
          query={raw}
          next={next}
          tiers={await listTiers(db)}
          committees={await listCommittees(db)}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/members/:id",
    capability: "members:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "One member: details, status and history",
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const member = await findMember(db, (request.params as { id: string }).id, true);
      if (!member) throw notFound();
      const q = request.query as Record<string, string | undefined>;
      const notice = q.saved
        ? "Saved."
        : q.deleted
          ? "The member was deleted."
          : q.restored
            ? "The member was restored."
            : undefined;
      return sendPage(
        request,
        reply,
        member.name,
        <MemberAdminView
          request={request}
          member={member}
          history={await statusHistory(db, member.id)}
          tiers={await listTiers(db)}
          canWrite={request.auth.actor.capabilities.has("members:write")}
          notice={notice}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/:id",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: ADMIN_WRITE,
    summary: "Save a member's details (409 if changed meanwhile)",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as Record<string, unknown>;
      await runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), updateMember, {
        memberId: id,
        version: versionFrom(body.version, true),
        changes: formChanges(body, true),
      });
      return reply.redirect(`/admin/members/${id}?saved=1`, 303);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/members/:id/status",
    capability: "members:write",
    loadClass: "admin",
    response: "html",
    degraded: ADMIN_WRITE,
    summary: "Change a member's status along the state machine",
    schema: { params: ID },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as Record<string, unknown>;
      await runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), changeMemberStatus, {
        memberId: id,
        version: versionFrom(body.version, true),
        status: String(body.status ?? ""),
        reason: String(body.reason ?? ""),
      });
      return reply.redirect(`/admin/members/${id}?saved=1`, 303);
    },
  });

  type Change = { memberId: string; reason: string; timeZone: string };
  for (const [verb, spec, done] of [
    ["delete", (env: ActionEnv, input: Change) => runAction(env, deleteMember, input), "deleted"],
    ["restore", (env: ActionEnv, input: Change) => runAction(env, restoreMember, input), "restored"],
  ] as const) {
    declareRoute(app, {
      method: "POST",
      url: `/admin/members/:id/${verb}`,
      capability: "members:write",
      loadClass: "admin",
      response: "html",
      degraded: ADMIN_WRITE,
      summary:
        verb === "delete"
          ? "Soft-delete a member (kept, restorable); their registrations for open events are cancelled"
          : "Restore a deleted member",
      schema: { params: ID },
      handler: async (request, reply) => {
        const { id } = request.params as { id: string };
        const reason = String((request.body as Record<string, unknown> | undefined)?.reason ?? "");
        await spec(request.server.ctx.actionEnv(request.auth.actor, request.id), {
          memberId: id,
          reason,
          timeZone: request.server.ctx.config.timeZone,
        });
        return reply.redirect(`/admin/members/${id}?${done}=1`, 303);
      },
    });
    declareRoute(app, {
      method: "POST",
      url: `/api/v1/members/:id/${verb}`,
      capability: "members:write",
      loadClass: "admin",
      response: "json",
      degraded: ADMIN_WRITE,
      summary:
        verb === "delete"
          ? "Soft-delete a member (kept, restorable); their registrations for open events are cancelled"
          : "Restore a deleted member",
      schema: {
        params: ID,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["reason"],
          properties: { reason: { type: "string", minLength: 1, maxLength: 1000 } },
        },
      },
      handler: async (request) => {
        const { id } = request.params as { id: string };
        const { reason } = request.body as { reason: string };
        return spec(request.server.ctx.actionEnv(request.auth.actor, request.id), {
          memberId: id,
          reason,
          timeZone: request.server.ctx.config.timeZone,
        });
      },
    });
  }

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members",
    capability: "members:read",
    loadClass: "admin",
    response: "json",
    degraded: READ,
    summary: "Members, filtered and keyset-paginated (next is the cursor for ?after=)",
    handler: async (request) => {
      const q = listQuery(request.query as Record<string, string>);
      const rows = await listMembers(request.server.ctx.database.db, q);
      return { members: rows.map(({ sort_key, ...m }) => m), next: cursorOf(rows, q.limit) ?? null };
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Create a member (Idempotency-Key supported)",
    schema: {
      body: {
        type: "object",
        additionalProperties: false,
        required: ["name", "email"],
        properties: {
          name: { type: "string", minLength: 1, maxLength: 200 },
          email: { type: "string", minLength: 3, maxLength: 320 },
          status: { type: "string" },
        },
      },
    },
    handler: async (request, reply) =>
      idempotentJson(
        request,
        reply,
        createMemberRecord,
        request.body as { name: string; email: string; status?: string },
        (m) => ({ status: 201, body: m }),
      ),
  });

  declareRoute(app, {
    method: "GET",
    url: "/api/v1/members/me",
    capability: "profile:write",
    loadClass: "member",
    response: "json",
    degraded: READ,
    summary: "My record, with its version as ETag",
    handler: async (request, reply) => {
      const member = await findMember(request.server.ctx.database.db, memberId(request));
      if (!member) throw notFound();
      const { admin_notes, ...own } = member;
      return sendMember(reply, own);
    },
  });

  declareRoute(app, {
    method: "PATCH",
    url: "/api/v1/members/me",
    capability: "profile:write",
    loadClass: "member",
    response: "json",
    degraded: WRITE,
    summary: "Change my contact details and directory choice (If-Match required)",
    schema: { body: CHANGES },
    handler: async (request, reply) => {
      const updated = await runAction(
        request.server.ctx.actionEnv(request.auth.actor, request.id),
        updateOwnProfile,
        {
          version: versionFrom(request.headers["if-match"], true),
          changes: request.body as MemberChanges,
        },
      );
      const { admin_notes, ...own } = updated;
      return sendMember(reply, own);
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
    handler: async (request, reply) => {
      const member = await findMember(request.server.ctx.database.db, (request.params as { id: string }).id);
      if (!member) throw notFound();
      return sendMember(reply, member);
    },
  });

  declareRoute(app, {
    method: "PATCH",
    url: "/api/v1/members/:id",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Change a member (If-Match required; 409 when stale)",
    schema: { params: ID, body: CHANGES },
    handler: async (request, reply) => {
      const updated = await runAction(
        request.server.ctx.actionEnv(request.auth.actor, request.id),
        updateMember,
        {
          memberId: (request.params as { id: string }).id,
          version: versionFrom(request.headers["if-match"], true),
          changes: request.body as MemberChanges,
        },
      );
      return sendMember(reply, updated);
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/api/v1/members/:id/status",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    degraded: ADMIN_WRITE,
    summary: "Change a member's status (If-Match optional)",
    schema: {
      params: ID,
      body: {
        type: "object",
        additionalProperties: false,
        required: ["status", "reason"],
        properties: { status: { type: "string" }, reason: { type: "string", minLength: 1, maxLength: 1000 } },
      },
    },
    handler: async (request, reply) => {
      const version = versionFrom(request.headers["if-match"], false);
      const body = request.body as { status: string; reason: string };
      const updated = await runAction(
        request.server.ctx.actionEnv(request.auth.actor, request.id),
        changeMemberStatus,
        {
          memberId: (request.params as { id: string }).id,
          version: Number.isNaN(version) ? undefined : version,
          ...body,
        },
      );
      return sendMember(reply, updated);
    },
  });
}
