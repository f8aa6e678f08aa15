/** Every error a person can see: a stable code, a human message saying what happened and what to do,
 * and the HTTP status it maps to. Anything else that escapes is an internal error with no details. */
export class ClubError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ClubError";
  }
}

/** 401: no valid session or token. */
export const unauthenticated = () =>
  new ClubError("unauthenticated", "Please log in to continue. Your session may have expired.", 401);

/** 403: signed in, but the capability is missing. Never says more than that. */
export const forbidden = (capability: string) =>
  new ClubError(
    "forbidden",
    "You do not have permission to do this. Ask a club administrator if you think you should.",
    403,
    { capability },
  );

/** 404: absent or hidden; the two are indistinguishable on purpose (R-2). */
export const notFound = () =>
  new ClubError("not_found", "This page does not exist, or you do not have access to it.", 404);

/** 409: the thing changed since it was read (W-4). */
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new ClubError("conflict", message, 409, details);

/** 400: input failed validation before anything was written (W-5). */
export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  new ClubError("invalid_input", message, 400, details);

/** 503 while the club is in read-only or maintenance mode. */
export const readOnly = (reason: string | null, mode = "read-only") =>
  new ClubError(
    "read_only",
    `ClubOS is ${mode === "maintenance" ? "under maintenance" : "in read-only mode"}, so nothing can be changed right now${reason ? `: ${reason}` : ""}. ` +
      "Reading still works; please try again later.",
    503,
    undefined,
    { "Retry-After": "300", "ClubOS-Read-Only": "true" },
  );

/** 503 when the mode cannot be read: refuse writes rather than guess (D table, W-8). */
export const stateUnknown = () =>
  new ClubError(
    "state_unavailable",
    "ClubOS cannot confirm it is safe to write right now, so changes are paused. Please try again shortly.",
    503,
    undefined,
    { "Retry-After": "30" },
  );

/** 503 when a kill switch freezes this kind of change. */
export const frozen = (what: string, reason: string | null) =>
  new ClubError(
    "frozen",
    `${what} are frozen by an operator${reason ? `: ${reason}` : ""}. Please try again later.`,
    503,
    undefined,
    { "Retry-After": "300" },
  );

/** 429: too many attempts. */
export const tooMany = (message: string, retryAfterSeconds: number) =>
  new ClubError("too_many_requests", message, 429, undefined, { "Retry-After": String(retryAfterSeconds) });

/** PostgreSQL SQLSTATE of a driver error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string") {
    return /^[0-9A-Z]{5}$/.test(error.code) ? error.code : undefined;
  }
  return undefined;
}
