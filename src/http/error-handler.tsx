import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ClubError, notFound, sqlState } from "../core/errors.ts";
import { sendPage } from "./page.tsx";
import type { RouteDeclaration } from "./routes.ts";

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

/** Turns anything thrown into a ClubError a person can act on; never exposes a stack (W-7). */
export function toClubError(error: unknown, requestId: string): ClubError {
  if (error instanceof ClubError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError?.validation) {
    return new ClubError(
      "invalid_input",
      `Some of what you sent is not valid: ${fastifyError.message}.`,
      400,
      {
        issues: fastifyError.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      },
    );
  }
  if (fastifyError?.statusCode === 413) {
    return new ClubError("too_large", "What you sent is too large.", 413);
  }
  if (fastifyError?.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ClubError(
      "bad_request",
      "The request could not be understood. Please check it and try again.",
      400,
    );
  }
  if (isDatabaseDown(error)) {
    return new ClubError(
      "database_unavailable",
      "ClubOS cannot reach its database right now. Nothing was changed; please try again in a few minutes.",
      503,
      undefined,
      { "Retry-After": "60" },
    );
  }
  return new ClubError(
    "internal_error",
    `Something went wrong on our side (reference ${requestId}). If you were saving something, check whether it ` +
      "was saved before trying again; if this keeps happening, tell the club's operator and quote the reference.",
    500,
  );
}

function wantsHtml(request: FastifyRequest): boolean {
  const decl = (request.routeOptions.config as { declaration?: RouteDeclaration } | undefined)?.declaration;
  if (decl) return decl.response === "html";
  if (request.url.startsWith("/api/")) return false;
  return (request.headers.accept ?? "").includes("text/html");
}

/** Sends an error as an HTML page or JSON, as the route declared. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: ClubError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
  if (wantsHtml(request)) {
    if (error.code === "password_change_required") return reply.redirect("/account/password", 303);
    return sendPage(
      request,
      reply,
      error.status === 404 ? "Not found" : "Something needs attention",
      <div class="error" role="alert">
        <h1>{error.status === 404 ? "Not found" : "We could not do that"}</h1>
        <p>{error.message}</p>
        {error.status === 401 ? (
          <p>
            <a href={`/login?next=${encodeURIComponent(request.url)}`}>Log in</a>
          </p>
        ) : (
          <p>
            <a href="/">Back to the home page</a>
          </p>
        )}
      </div>,
      error.status,
    );
  }
  return reply
    .code(error.status)
    .send({ error: { code: error.code, message: error.message, details: error.details } });
}

/** Installs the error and not-found handlers. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const clubError = toClubError(error, request.id);
    if (clubError.status >= 500) request.log.error({ err: error, code: clubError.code }, "request failed");
    else request.log.info({ code: clubError.code }, "request refused");
    return sendError(request, reply, clubError);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, notFound()));
}
