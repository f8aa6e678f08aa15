/** Every error a person can see: a stable code, a human message saying what happened and what to do,
 * and the HTTP status it maps to. Anything else that escapes is an internal error with no details.
 * Codes are declared once, in a catalogue (defineErrors), which the OpenAPI document lists; a
 * ClubError is only ever made through a catalogue entry. */
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

/** One catalogued error: its status, what it means (for the API document), and fixed headers. */
export interface ErrorSpec {
  status: number;
  description: string;
  headers?: Record<string, string>;
}

/** A catalogued error's constructor: the message is written where it is raised, for the situation. */
export type RaiseError = (message: string, details?: Record<string, unknown>) => ClubError;

const catalogue = new Map<string, ErrorSpec>();

/** Adds codes to the one catalogue and returns a constructor for each. A code declared twice with a
 * different meaning fails at load. */
export function defineErrors<const T extends Record<string, ErrorSpec>>(
  specs: T,
): { [K in keyof T]: RaiseError } {
  const out = {} as Record<string, RaiseError>;
  for (const [code, spec] of Object.entries(specs)) {
    const known = catalogue.get(code);
    if (known && (known.status !== spec.status || known.description !== spec.description))
      throw new Error(`Error code ${code} is declared twice with different meanings.`);
    catalogue.set(code, spec);
    out[code] = (message, details) => new ClubError(code, message, spec.status, details, spec.headers);
  }
  return out as { [K in keyof T]: RaiseError };
}

/** Every catalogued code, sorted: what the OpenAPI document lists. */
export function errorCatalogue(): Array<{ code: string } & ErrorSpec> {
  return [...catalogue]
    .map(([code, spec]) => ({ code, ...spec }))
    .sort((a, b) => a.code.localeCompare(b.code));
}

/** The errors every part of ClubOS raises. Domains declare their own in their *.errors.ts files. */
export const CORE_ERRORS = defineErrors({
  unauthenticated: { status: 401, description: "No valid session or token: log in" },
  forbidden: { status: 403, description: "Signed in, but not allowed to do this" },
  csrf: { status: 403, description: "A form from another site, or an expired form" },
  password_change_required: { status: 403, description: "A one-time password must be replaced first" },
  permissions_unavailable: {
    status: 403,
    description: "Permissions cannot be checked now, so access is denied",
  },
  not_found: { status: 404, description: "Absent, or hidden from the caller: the two look the same" },
  conflict: { status: 409, description: "The thing changed since it was read, or is in the wrong state" },
  invalid_input: { status: 400, description: "The input failed validation; nothing was written" },
  bad_request: { status: 400, description: "The request could not be understood" },
  too_large: { status: 413, description: "The request body is too large" },
  unsupported_media_type: { status: 415, description: "This route does not accept that content type" },
  precondition_required: { status: 428, description: "Send If-Match with the ETag you read" },
  too_many_requests: { status: 429, description: "Too many attempts; wait for Retry-After" },
  read_only: {
    status: 503,
    description: "The club is in read-only or maintenance mode; reading still works",
    headers: { "Retry-After": "300", "ClubOS-Read-Only": "true" },
  },
  frozen: {
    status: 503,
    description: "An operator froze this kind of change",
    headers: { "Retry-After": "300" },
  },
  state_unavailable: {
    status: 503,
    description: "The operating mode cannot be read, so writes are paused",
    headers: { "Retry-After": "30" },
  },
  database_unavailable: {
    status: 503,
    description: "The database cannot be reached; nothing was changed",
    headers: { "Retry-After": "60" },
  },
  outbox_full: {
    status: 503,
    description: "Too many messages are waiting to be sent, so optional mail is refused for now (C-2)",
    headers: { "Retry-After": "600" },
  },
  identity_unavailable: {
    status: 503,
    description: "Who is asking cannot be checked right now",
    headers: { "Retry-After": "30" },
  },
  internal_error: { status: 500, description: "A fault on the server; the message carries a reference" },
  migrations_pending: { status: 400, description: "The database needs `clubos migrate` first" },
  migration_changed: { status: 400, description: "An applied migration was edited" },
  migration_unknown: { status: 400, description: "The database was migrated by a newer version" },
  function_overloaded: {
    status: 400,
    description: "A SQL function file changed its arguments without a migration",
  },
  function_file_invalid: {
    status: 400,
    description: "A SQL function file does not say what it needs, or is malformed",
  },
  invalid_idempotency_key: { status: 400, description: "The Idempotency-Key header is malformed" },
  idempotency_key_reused: { status: 422, description: "The Idempotency-Key was used with another body" },
  idempotency_in_progress: {
    status: 409,
    description: "A request with this Idempotency-Key is still running",
  },
  unknown_job: { status: 400, description: "No scheduled job has that name" },
});

/** 401: no valid session or token. */
export const unauthenticated = () =>
  CORE_ERRORS.unauthenticated("Please log in to continue. Your session may have expired.");

/** 403: signed in, but the capability is missing. Never says more than that. */
export const forbidden = (capability: string) =>
  CORE_ERRORS.forbidden(
    "You do not have permission to do this. Ask a club administrator if you think you should.",
    { capability },
  );

/** 404: absent or hidden; the two are indistinguishable on purpose (R-2). */
export const notFound = () =>
  CORE_ERRORS.not_found("This page does not exist, or you do not have access to it.");

/** 409: the thing changed since it was read (W-4), or is not in a state that allows this. */
export const conflict = (message: string, details?: Record<string, unknown>) =>
  CORE_ERRORS.conflict(message, details);

/** 400: input failed validation before anything was written (W-5). */
export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  CORE_ERRORS.invalid_input(message, details);

/** 503 while the club is in read-only or maintenance mode. */
export const readOnly = (reason: string | null, mode = "read-only") =>
  CORE_ERRORS.read_only(
    `ClubOS is ${mode === "maintenance" ? "under maintenance" : "in read-only mode"}, so nothing can be changed right now${reason ? `: ${reason}` : ""}. ` +
      "Reading still works; please try again later.",
  );

/** 503 when the mode cannot be read: refuse writes rather than guess (D table, W-8). */
export const stateUnknown = () =>
  CORE_ERRORS.state_unavailable(
    "ClubOS cannot confirm it is safe to write right now, so changes are paused. Please try again shortly.",
  );

/** 503 when a kill switch freezes this kind of change. */
export const frozen = (what: string, reason: string | null) =>
  CORE_ERRORS.frozen(
    `${what} are frozen by an operator${reason ? `: ${reason}` : ""}. Please try again later.`,
  );

/** 503 when the database cannot be reached. */
export const databaseUnavailable = () =>
  CORE_ERRORS.database_unavailable(
    "ClubOS cannot reach its database right now. Nothing was changed; please try again in a few minutes.",
  );

/** 503 when the credentials sent cannot be checked (not the same as wrong credentials). */
export const identityUnavailable = () =>
  CORE_ERRORS.identity_unavailable(
    "ClubOS cannot check who you are right now, so nothing was done. Your login is still valid; please try again shortly.",
  );

/** 429: too many attempts. */
export const tooMany = (message: string, retryAfterSeconds: number) => {
  const error = CORE_ERRORS.too_many_requests(message);
  return new ClubError(error.code, message, error.status, undefined, {
    "Retry-After": String(retryAfterSeconds),
  });
};

/** PostgreSQL SQLSTATE of a driver error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string") {
    return /^[0-9A-Z]{5}$/.test(error.code) ? error.code : undefined;
  }
  return undefined;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "57P01", "57P03"]);

/** True when the error means the database cannot be reached. */
export function isDatabaseDown(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
  const state = sqlState(error);
  if (state?.startsWith("08")) return true;
  const message = error instanceof Error ? error.message : "";
  // The last: a pooled client whose connection dropped while it was checked out (see connect.ts).
  return /Connection terminated|connect ECONNREFUSED|PGlite is closed|Client has encountered a connection error/i.test(
    message,
  );
}
