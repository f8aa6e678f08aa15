import { type Static, Type } from "typebox";
import {
  Body,
  CalendarDate,
  FormBody,
  FormLineText,
  FormText,
  Instant,
  LineText,
  Query,
  Text,
  Uuid,
  Version,
} from "../../http/schema.ts";
import { MEMBER_STATUSES, type MemberStatus } from "./member-status.ts";

/* The members API contract: every input and output of the members routes, defined once. The field
 * rules that need more than a schema (a name that is not blank, a date that exists) are in
 * member-fields.ts, applied by the actions whatever the route. */

const Status = Type.Unsafe<MemberStatus>({ type: "string", enum: [...MEMBER_STATUSES] });
/** One membership status, for other domains' contracts (a page's audience names statuses). */
export const MemberStatusValue = Status;
/** The membership statuses, in their declared order. */
export const MEMBER_STATUS_VALUES = MEMBER_STATUSES;
const NullableDate = Type.Union([CalendarDate(), Type.Null()]);
const Reason = Text(1000, { minLength: 1 });

/** The contact fields a member changes about themselves, as JSON. */
const OWN_FIELDS = {
  name: Type.Optional(LineText(200, { minLength: 1 })),
  phone: Type.Optional(LineText(40)),
  address: Type.Optional(Text(500)),
  directoryOptOut: Type.Optional(Type.Boolean()),
};

/** PATCH /api/v1/members/me: only the fields present change. */
export const OwnChangesBody = Body(OWN_FIELDS, { minProperties: 1 });
export type OwnChangesBody = Static<typeof OwnChangesBody>;

/** PATCH /api/v1/members/:id: only the fields present change (status has its own route). */
export const MemberChangesBody = Body(
  {
    ...OWN_FIELDS,
    email: Type.Optional(LineText(320, { minLength: 3 })),
    joinedOn: Type.Optional(CalendarDate()),
    tierKey: Type.Optional(Type.Union([Text(64), Type.Null()])),
    renewalDueOn: Type.Optional(NullableDate),
    adminNotes: Type.Optional(Text(5000)),
  },
  { minProperties: 1 },
);
export type MemberChangesBody = Static<typeof MemberChangesBody>;

/** POST /api/v1/members. */
export const CreateMemberBody = Body({
  name: LineText(200, { minLength: 1 }),
  email: LineText(320, { minLength: 3 }),
  status: Type.Optional(Status),
});

/** POST /api/v1/members/:id/status. */
export const StatusBody = Body({ status: Status, reason: Reason });

/** POST /api/v1/members/:id/delete and /restore. */
export const ReasonBody = Body({ reason: Reason });

/** POST /api/v1/members/:id/renew. */
export const RenewBody = Type.Union([Type.Null(), Body({ reason: Type.Optional(Text(1000)) })]);

/** A keyset cursor as the list hands it out (base64url of the last row's sort key and id). */
const Cursor = Type.String({ pattern: "^[A-Za-z0-9_-]*$", maxLength: 4096 });

/** The admin member list's filters, sorting and paging ("" means "any", as the filter form sends). */
export const MemberListQuery = Query({
  search: Type.Optional(Text(200)),
  status: Type.Optional(
    Type.Unsafe<MemberStatus | "deleted" | "">({ type: "string", enum: [...MEMBER_STATUSES, "deleted", ""] }),
  ),
  tier: Type.Optional(Text(64)),
  committee: Type.Optional(Text(64)),
  sort: Type.Optional(Type.Union([Type.Literal("name"), Type.Literal("joined"), Type.Literal("")])),
  after: Type.Optional(Cursor),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});
export type MemberListQuery = Static<typeof MemberListQuery>;

/** The directory's search by name and committee filter. */
export const DirectoryQuery = Query({
  q: Type.Optional(Text(200)),
  committee: Type.Optional(Text(64)),
});

/** The member's own form. */
export const ProfileForm = FormBody({
  version: FormText(12),
  name: FormLineText(200),
  phone: FormLineText(40),
  address: FormText(500),
  directory_opt_out: FormText(4),
});
export type ProfileForm = Static<typeof ProfileForm>;

/** The member's own email preferences form: a checkbox, sent only when ticked. */
export const EmailPreferencesForm = FormBody({ announcements: FormText(4) });

/** The admin's member form. */
export const MemberForm = FormBody({
  ...ProfileForm.properties,
  email: FormLineText(320),
  joined_on: FormText(10),
  tier_key: FormText(64),
  renewal_due_on: FormText(10),
  admin_notes: FormText(5000),
});
export type MemberForm = Static<typeof MemberForm>;

/** The status form. */
export const StatusForm = FormBody({ version: FormText(12), status: FormText(20), reason: FormText(1000) });

/** The delete and restore forms. */
export const ReasonForm = FormBody({ reason: FormText(1000) });

/** The renew form. */
export const RenewForm = FormBody({ version: FormText(12), reason: FormText(1000) });

/** A member's own record as the API shows it. */
export const OwnMemberOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  email: Type.String(),
  phone: Type.String(),
  address: Type.String(),
  status: Status,
  directoryOptOut: Type.Boolean(),
  emailAnnouncements: Type.Boolean({
    description: "The member's own choice to receive announcements; other mail is always sent",
  }),
  joinedOn: CalendarDate(),
  tierKey: Type.Union([Type.String(), Type.Null()]),
  renewalDueOn: NullableDate,
  version: Version,
  createdAt: Instant(),
  updatedAt: Instant(),
});
export type OwnMemberOut = Static<typeof OwnMemberOut>;

/** A member record as those with members:read see it. */
export const MemberOut = Type.Object({
  ...OwnMemberOut.properties,
  adminNotes: Type.String(),
  deletedAt: Type.Union([Instant(), Type.Null()]),
});
export type MemberOut = Static<typeof MemberOut>;

/** A member in the admin list. */
export const MemberSummaryOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  email: Type.String(),
  status: Status,
  tierKey: Type.Union([Type.String(), Type.Null()]),
  joinedOn: CalendarDate(),
  renewalDueOn: NullableDate,
  version: Version,
});
export type MemberSummaryOut = Static<typeof MemberSummaryOut>;

/** A page of the admin list; `next` is the cursor for ?after=, null on the last page. */
export const MemberListOut = Type.Object({
  members: Type.Array(MemberSummaryOut),
  next: Type.Union([Cursor, Type.Null()]),
});

/** A member that was deleted or restored. */
export const MemberRefOut = Type.Object({ id: Uuid(), email: Type.String() });

/** A renewed membership. */
export const RenewedMemberOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  status: Status,
  tierKey: Type.Union([Type.String(), Type.Null()]),
  renewalDueOn: CalendarDate(),
  version: Version,
});
export type RenewedMemberOut = Static<typeof RenewedMemberOut>;

/** The rules of a new member's name and email, for the other domains that make members (the join form
 * checks an application by them, so an approved one is a valid member). */
export { checkNewMember } from "./member-fields.ts";
