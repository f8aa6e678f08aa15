import type { IncomingHttpHeaders } from "node:http";

/** The session cookie's name. */
export const SESSION_COOKIE = "clubos_session";

/** Whether the request carries a credential (a session cookie or a bearer token), valid or not: what
 * decides that an answer is personal (not for shared caches) and that an identity that cannot be
 * checked is a 503, not an anonymous visit. */
export function carriesCredentials(headers: IncomingHttpHeaders): boolean {
  if (headers.authorization !== undefined) return true;
  const cookies = headers.cookie ?? "";
  return cookies.split(";").some((pair) => pair.trimStart().startsWith(`${SESSION_COOKIE}=`));
}
