import type { FastifyReply, FastifyRequest } from "fastify";
import { runAction } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { capabilitiesOf } from "../../core/capabilities.ts";
import { tooMany } from "../../core/errors.ts";
import { loginFailures } from "../../core/metrics.ts";
import { hashSecret, newSecret } from "../../core/secrets.ts";
import type { HttpContext } from "../../http/context.ts";
import { resolveSessionToken, SESSION_COOKIE } from "./authenticate.ts";
import { startSession } from "./identity.actions.ts";
import { activeRoleKeys, findAccountByEmail, insertDevice, recordAttempt } from "./identity.repository.ts";
import { type LoginRefusal, recordLoginRefusal } from "./login.actions.ts";
import {
  claimAttempt,
  emailKeyOf,
  settleSuccess,
  type Throttle,
  throttlesFor,
  waitInWords,
} from "./login-throttle.ts";
import { verifyPassword } from "./passwords.ts";

/** The cookie that marks a browser that signed in before (login-throttle.ts): a random secret whose hash
 * is kept with the account it signed in to. Sent only to /login. */
export const DEVICE_COOKIE = "clubos_device";
const DEVICE_COOKIE_DAYS = 365;

/** The outcome of a login attempt that did not throw. */
export type LoginOutcome =
  | { ok: true; token: string; mustChangePassword: boolean; deviceToken?: string }
  | { ok: false };

/** What a slowed-down login is told: how long to wait, and what else to do. */
function throttledMessage(waitSeconds: number, kind: Throttle["kind"]): string {
  const wait = waitInWords(waitSeconds);
  if (kind === "address")
    return `Too many failed sign-ins from your network. Wait ${wait} and try again. If this keeps happening, ask an administrator.`;
  return `Too many wrong passwords for this account, so sign-ins to it are slowed down. Wait ${wait} and try again, choose a new password with “Forgot your password?” below, or ask an administrator to lift the wait. A browser you signed in with before is not slowed down.`;
}

/** Counts the attempt against its throttles, checks the password, then starts a new session through the
 * startSession action. Refused and throttled attempts are audited with their address. */
export async function logIn(
  ctx: HttpContext,
  input: {
    email: string;
    password: string;
    ip: string;
    replacesToken?: string;
    deviceToken?: string;
    requestId?: string;
  },
): Promise<LoginOutcome> {
  const emailKey = emailKeyOf(input.email);
  const db = ctx.database.db;
  const audit = (refusal: Omit<LoginRefusal, "email" | "ip">) =>
    runAction(ctx.actionEnv(systemActor("login"), input.requestId), recordLoginRefusal, {
      email: emailKey,
      ip: input.ip,
      ...refusal,
    });
  const { throttles, knownDevice } = await throttlesFor(db, {
    emailKey,
    ip: input.ip,
    deviceToken: input.deviceToken,
  });
  const via = knownDevice
    ? "known browser"
    : throttles[1]?.kind === "known-address"
      ? "known address"
      : undefined;
  const slowed = await claimAttempt(db, throttles);
  if (slowed) {
    loginFailures.inc({ reason: "throttled" });
    await audit({
      outcome: "throttled",
      throttle: slowed.throttle.kind,
      waitSeconds: slowed.waitSeconds,
      via,
    });
    throw tooMany(throttledMessage(slowed.waitSeconds, slowed.throttle.kind), slowed.waitSeconds);
  }
  const account = await findAccountByEmail(db, emailKey);
  const ok = (await verifyPassword(account?.passwordHash, input.password)) && account && !account.disabledAt;
  if (!ok || !account) {
    await recordAttempt(db, emailKey, input.ip, false);
    loginFailures.inc({ reason: "bad_credentials" });
    await audit({ outcome: "failed", via });
    return { ok: false };
  }
  await settleSuccess(db, throttles);
  await recordAttempt(db, emailKey, input.ip, true);
  let deviceToken: string | undefined;
  if (!knownDevice) {
    deviceToken = newSecret();
    await insertDevice(db, hashSecret(deviceToken), emailKey);
  }
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
  return { ok: true, token, mustChangePassword: account.mustChangePassword, deviceToken };
}

/** Marks this browser as one that signed in (the device cookie), for a year, sent to /login only. */
export function setDeviceCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(DEVICE_COOKIE, token, {
    path: "/login",
    httpOnly: true,
    sameSite: "lax",
    secure: request.protocol === "https",
    maxAge: DEVICE_COOKIE_DAYS * 86_400,
  });
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
