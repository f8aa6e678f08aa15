import type { FastifyReply, FastifyRequest } from "fastify";
import { runAction } from "../../core/action.ts";
import { capabilitiesOf } from "../../core/capabilities.ts";
import { tooMany } from "../../core/errors.ts";
import { loginFailures } from "../../core/metrics.ts";
import type { HttpContext } from "../../http/context.ts";
import { resolveSessionToken, SESSION_COOKIE } from "./authenticate.ts";
import { startSession } from "./identity.actions.ts";
import { activeRoleKeys, findAccountByEmail, recentFailures, recordAttempt } from "./identity.repository.ts";
import { verifyPassword } from "./passwords.ts";

/** Throttling: failures counted over this window, per account and per address. */
export const THROTTLE = { windowMinutes: 15, perAccount: 5, perIp: 30 } as const;

/** The outcome of a login attempt that did not throw. */
export type LoginOutcome = { ok: true; token: string; mustChangePassword: boolean } | { ok: false };

/** Checks throttles and the password, then starts a new session through the startSession action. */
export async function logIn(
  ctx: HttpContext,
  input: { email: string; password: string; ip: string; replacesToken?: string; requestId?: string },
): Promise<LoginOutcome> {
  const emailKey = input.email.trim().toLowerCase();
  const db = ctx.database.db;
  const failures = await recentFailures(db, emailKey, input.ip, THROTTLE.windowMinutes);
  if (failures.byEmail >= THROTTLE.perAccount || failures.byIp >= THROTTLE.perIp) {
    loginFailures.inc({ reason: "throttled" });
    throw tooMany(
      `Too many failed attempts. Wait ${THROTTLE.windowMinutes} minutes and try again, or choose a new password with “Forgot your password?” below.`,
      THROTTLE.windowMinutes * 60,
    );
  }
  const account = await findAccountByEmail(db, emailKey);
  const ok = (await verifyPassword(account?.passwordHash, input.password)) && account && !account.disabledAt;
  if (!ok || !account) {
    await recordAttempt(db, emailKey, input.ip, false);
    loginFailures.inc({ reason: "bad_credentials" });
    return { ok: false };
  }
  await recordAttempt(db, emailKey, input.ip, true);
  const caps = new Set(capabilitiesOf(await activeRoleKeys(db, account.memberId)));
  const actor = {
    type: "member" as const,
    memberId: account.memberId,
    name: account.name,
    capabilities: caps,
  };
  let replaces: string | undefined;
  if (input.replacesToken) {
    const policy = {
      idleMinutes: ctx.config.sessionIdleMinutes,
      absoluteHours: ctx.config.sessionAbsoluteHours,
    };
    replaces = (await resolveSessionToken(ctx.database, input.replacesToken, policy))?.sessionId;
  }
  const { token } = await runAction(ctx.actionEnv(actor, input.requestId), startSession, {
    accountId: account.accountId,
    absoluteHours: ctx.config.sessionAbsoluteHours,
    ip: input.ip,
    replaces,
  });
  return { ok: true, token, mustChangePassword: account.mustChangePassword };
}

/** Sets the session cookie: HttpOnly, SameSite=Lax, Secure behind https, lasting the absolute lifetime. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: request.protocol === "https",
    maxAge: request.server.ctx.config.sessionAbsoluteHours * 3600,
  });
}

/** Removes the session cookie. */
export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: "/" });
}
