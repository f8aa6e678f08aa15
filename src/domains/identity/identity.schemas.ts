import { type Static, Type } from "typebox";
import { FormBody, FormText, Query, Uuid } from "../../http/schema.ts";
import { MemberListQuery } from "../members/members.schemas.ts";

/* The identity routes' contract: the login and password forms, and who the caller is. Passwords are
 * bounded generously here so the password rules (passwords.ts) answer in their own words. */

/** Where to go after logging in: a local path (safeNext keeps it local). */
const Next = FormText(8_192);

/** GET /login?next=... */
export const LoginQuery = Query({
  next: Next,
  done: Type.Optional(Type.Union([Type.Literal("password_set"), Type.Literal("password_reset")])),
});

/** The login form. */
export const LoginForm = FormBody({ email: FormText(320), password: FormText(1_024), next: Next });
export type LoginForm = Static<typeof LoginForm>;

/** The change-password form. */
export const PasswordForm = FormBody({
  current: FormText(1_024),
  password: FormText(1_024),
  confirm: FormText(1_024),
});

/** GET /api/v1/me. */
export const MeOut = Type.Object({
  memberId: Uuid(),
  name: Type.String(),
  capabilities: Type.Array(Type.String(), { description: "What the caller may do, sorted" }),
});
export type MeOut = Static<typeof MeOut>;

/** A single-use link's token in its path: loosely shaped, so a mistyped or made-up token reaches the
 * same "this link no longer works" page as an expired one. */
export const LinkParams = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9_-]+$" }),
});

/** The form behind an invitation or reset link: the new password, twice. */
export const NewPasswordForm = FormBody({ password: FormText(1_024), confirm: FormText(1_024) });

/** "Forgot your password?": the address to send a link to. */
export const ForgotPasswordForm = FormBody({ email: FormText(320) });

/** Inviting every member of a filtered list: the admin list's filters, as hidden fields. */
export const InviteListForm = FormBody({
  search: MemberListQuery.properties.search,
  status: MemberListQuery.properties.status,
  tier: MemberListQuery.properties.tier,
  committee: MemberListQuery.properties.committee,
});
