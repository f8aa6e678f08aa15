import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ClubError, CORE_ERRORS, databaseUnavailable, isDatabaseDown, notFound } from "../core/errors.ts";
import { sendPage } from "./page.tsx";
import { routeOf } from "./routes.ts";
import { describeIssue, describeValidation, type ValidationIssue } from "./validation-messages.ts";

/** Turns anything thrown into a ClubError a person can act on; never exposes a stack (W-7). */
export function toClubError(error: unknown, requestId: string): ClubError {
  if (error instanceof ClubError) return error;
  const fastifyError = error as FastifyError;
  // A path that names nothing (a malformed id) is simply not found, like an unknown one.
  if (fastifyError?.validation && fastifyError.validationContext === "params") return notFound();
  if (fastifyError?.validation) {
    const issues = fastifyError.validation as unknown as ValidationIssue[];
    return CORE_ERRORS.invalid_input(describeValidation(issues, fastifyError.validationContext), {
      issues: issues.map((v) => ({ path: v.instancePath, rule: v.keyword, message: describeIssue(v) })),
    });
  }
  if (fastifyError?.statusCode === 413)
    return CORE_ERRORS.too_large(
      "What you sent is too large for this address. Shorten it or send it in smaller parts, then try again.",
    );
  if (fastifyError?.statusCode === 415)
    return CORE_ERRORS.unsupported_media_type(
      "This address does not take that kind of content. Send a form or JSON (application/json); " +
        "a CSV file of members goes to the member import.",
    );
  if (fastifyError?.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return CORE_ERRORS.bad_request("The request could not be understood. Please check it and try again.");
  }
  if (isDatabaseDown(error)) return databaseUnavailable();
  return CORE_ERRORS.internal_error(
    `Something went wrong on our side (reference ${requestId}). If you were saving something, check whether it ` +
      "was saved before trying again; if this keeps happening, tell the club's operator and quote the reference.",
  );
}

function wantsHtml(request: FastifyRequest): boolean {
  const route = routeOf(request);
  if (route) return route.response === "html";
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
    // A refusal ClubOS meant (read-only, a freeze, a database it knows is down) is information, logged
    // without a stack; only an unexpected fault is an error with its trace.
    const expected = error instanceof ClubError || clubError.code !== "internal_error";
    if (expected) request.log.info({ code: clubError.code, status: clubError.status }, "request refused");
    else request.log.error({ err: error, code: clubError.code }, "request failed");
    return sendError(request, reply, clubError);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, notFound()));
}
