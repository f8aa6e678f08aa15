import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ComponentChildren } from "preact";
import { Type } from "typebox";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareFormRoute } from "../../http/form-route.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS, Query } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import { chairedCommittees, listCommittees } from "../committees/committees.repository.ts";
import { accessOfMembers, openInvitationOf } from "../identity/account-links.repository.ts";
import { findUndeliverable } from "../mail/outbox.repository.ts";
import { setOwnEmailPreferences } from "./email-preferences.actions.ts";
import {
  cursorAfter,
  listQuery,
  memberFormChanges,
  ownMemberId,
  profileChanges,
  withoutSameEmail,
} from "./member-input.ts";
import {
  changeMemberStatus,
  deleteMember,
  restoreMember,
  updateMember,
  updateOwnProfile,
} from "./members.actions.ts";
import { directory, findMember, listMembers, listTiers, statusHistory } from "./members.repository.ts";
import {
  DirectoryQuery,
  EmailPreferencesForm,
  MemberForm,
  MemberListQuery,
  ProfileForm,
  ReasonForm,
  StatusForm,
} from "./members.schemas.ts";
import {
  DirectoryView,
  EmailPreferencesView,
  MemberAdminView,
  MemberListView,
  ProfileView,
} from "./members.views.tsx";

const NOTICES = {
  saved: "Saved.",
  deleted: "The member was deleted.",
  restored: "The member was restored.",
  invitation_revoked: "The invitation was revoked: its link no longer works.",
  unthrottled: "Sign-ins to this account are no longer slowed down.",
} as const;
/** The notice an admin member page shows after a change (the forms redirect with ?done=). */
export const MemberDoneQuery = Query({
  done: Type.Optional(Type.Union(Object.keys(NOTICES).map((k) => Type.Literal(k as keyof typeof NOTICES)))),
});
const ProfileDoneQuery = Query({
  done: Type.Optional(Type.Union([Type.Literal("saved"), Type.Literal("email")])),
});

/** A part of "My details" another domain contributes (the calendar feed), wired in by the app. */
export type ProfileSection = (request: FastifyRequest) => Promise<ComponentChildren>;

/** A part of an admin's member page another domain contributes (the login slow-down), wired in by the app. */
export type AdminMemberSection = (
  request: FastifyRequest,
  member: { id: string; email: string },
) => Promise<ComponentChildren>;

/** The query string of the next page: the same filters, the next cursor. */
function nextPage(query: MemberListQuery, cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...query, after: cursor }))
    if (value !== undefined && value !== "") params.set(key, String(value));
  return `/admin/members?${params}`;
}

/** My details, the directory and the admin member pages. */
export function memberRoutes(
  app: FastifyInstance,
  options: { profileSections?: ProfileSection[]; adminSections?: AdminMemberSection[] } = {},
): void {
  declareRoute(app, {
    method: "GET",
    url: "/members/me",
    capability: "profile:write",
    loadClass: "member",
    response: "html",
    degraded: READ,
    summary: "My details",
    schema: { querystring: ProfileDoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const member = await findMember(db, ownMemberId(request));
      if (!member) throw notFound();
      const sections = await Promise.all((options.profileSections ?? []).map((section) => section(request)));
      // A chair without admin:access has no Admin link, so their committees' events are reached from here.
      const chairs = (await chairedCommittees(db, member.id)).length > 0;
      return sendPage(
        request,
        reply,
        "My details",
        <>
          <ProfileView page={pageContext(request)} member={member} saved={request.query.done === "saved"} />
          <EmailPreferencesView
            page={pageContext(request)}
            member={member}
            saved={request.query.done === "email"}
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

  declareFormRoute(app, {
    url: "/members/me",
    action: updateOwnProfile,
    loadClass: "member",
    summary: "Save my details (refused with 409 if they changed since the form was opened)",
    schema: { body: ProfileForm },
    submit: ({ body }) => ({
      input: { version: versionFrom(body.version, true), changes: profileChanges(body) },
      redirect: () => "/members/me?done=saved",
    }),
  });

  declareFormRoute(app, {
    url: "/members/me/email-preferences",
    action: setOwnEmailPreferences,
    loadClass: "member",
    summary: "Save my email preferences (announcements on or off)",
    schema: { body: EmailPreferencesForm },
    submit: ({ body }) => ({
      input: { announcements: body.announcements === "1" || body.announcements === "on" },
      redirect: () => "/members/me?done=email",
    }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/directory",
    capability: "directory:read",
    loadClass: "member",
    response: "html",
    degraded: READ,
    summary: "Member directory (members who did not opt out)",
    schema: { querystring: DirectoryQuery },
    handler: async (request, reply) => {
      const search = request.query.q?.trim() || undefined;
      const committee = request.query.committee?.trim() || undefined;
      const db = request.server.ctx.database.db;
      return sendPage(
        request,
        reply,
        "Member directory",
        <DirectoryView
          rows={await directory(db, search, 100, committee)}
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
    schema: { querystring: MemberListQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const q = listQuery(request.query);
      const rows = await listMembers(db, q);
      const { after: _after, limit: _limit, ...filters } = request.query;
      return sendPage(
        request,
        reply,
        "Members",
        <MemberListView
          page={pageContext(request)}
          canWrite={request.auth.actor.capabilities.has("members:write")}
          access={
            await accessOfMembers(
              db,
              rows.map((r) => r.id),
            )
          }
          rows={rows}
          query={filters}
          next={nextPage(request.query, cursorAfter(rows, q.limit))}
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
    schema: { params: ID_PARAMS, querystring: MemberDoneQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const member = await findMember(db, request.params.id, true);
      if (!member) throw notFound();
      const done = request.query.done;
      const sections = await Promise.all(
        (options.adminSections ?? []).map((section) => section(request, member)),
      );
      return sendPage(
        request,
        reply,
        member.name,
        <>
          <MemberAdminView
            page={pageContext(request)}
            member={member}
            history={await statusHistory(db, member.id)}
            tiers={await listTiers(db)}
            canWrite={request.auth.actor.capabilities.has("members:write")}
            notice={done ? NOTICES[done] : undefined}
            undeliverable={(await findUndeliverable(db, member.email))?.reason}
            access={(await accessOfMembers(db, [member.id])).get(member.id)}
            invitation={await openInvitationOf(db, member.id)}
          />
          {sections}
        </>,
      );
    },
  });

  declareFormRoute(app, {
    url: "/admin/members/:id",
    action: updateMember,
    loadClass: "admin",
    summary: "Save a member's details (409 if changed meanwhile)",
    schema: { params: ID_PARAMS, body: MemberForm },
    submit: async (request) => {
      const { id } = request.params;
      const current = await findMember(request.server.ctx.database.db, id);
      const changes = withoutSameEmail(memberFormChanges(request.body), current?.email);
      return {
        input: { memberId: id, version: versionFrom(request.body.version, true), changes },
        redirect: () => `/admin/members/${id}?done=saved`,
      };
    },
  });

  declareFormRoute(app, {
    url: "/admin/members/:id/status",
    action: changeMemberStatus,
    loadClass: "admin",
    summary: "Change a member's status along the state machine (not one's own)",
    schema: { params: ID_PARAMS, body: StatusForm },
    submit: ({ params: { id }, body }) => ({
      input: {
        memberId: id,
        version: versionFrom(body.version, true),
        status: body.status ?? "",
        reason: body.reason ?? "",
      },
      redirect: () => `/admin/members/${id}?done=saved`,
    }),
  });

  const timeZone = (request: FastifyRequest) => request.server.ctx.config.timeZone;
  declareFormRoute(app, {
    url: "/admin/members/:id/delete",
    action: deleteMember,
    loadClass: "admin",
    summary:
      "Soft-delete a member (kept, restorable; not oneself); their registrations for open events are cancelled",
    schema: { params: ID_PARAMS, body: ReasonForm },
    submit: (request) => {
      const { id } = request.params;
      return {
        input: { memberId: id, reason: request.body.reason ?? "", timeZone: timeZone(request) },
        redirect: () => `/admin/members/${id}?done=deleted`,
      };
    },
  });

  declareFormRoute(app, {
    url: "/admin/members/:id/restore",
    action: restoreMember,
    loadClass: "admin",
    summary: "Restore a deleted member",
    schema: { params: ID_PARAMS, body: ReasonForm },
    submit: ({ params: { id }, body }) => ({
      input: { memberId: id, reason: body.reason ?? "" },
      redirect: () => `/admin/members/${id}?done=restored`,
    }),
  });
}
