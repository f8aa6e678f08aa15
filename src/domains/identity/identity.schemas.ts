import { type Static, Type } from "typebox";
import { FormBody, FormText, Query, Uuid } from "../../http/schema.ts";

/* The identity routes' contract: the login and password forms, and who the caller is. Passwords are
 * bounded generously here so the password rules (passwords.ts) answer in their own words. */

/** Where to go after logging in: a local path (safeNext keeps it local). */
const Next = FormText(8_192);

/** GET /login?next=... */
export const LoginQuery = Query({ next: Next });

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
