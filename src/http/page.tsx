import type { FastifyReply, FastifyRequest } from "fastify";
import type { ComponentChildren } from "preact";
import { anonymousActor } from "../core/actor.ts";
import { csrfTokenFor } from "./guards.ts";
import { renderPage } from "./layout.tsx";
import "./request-context.ts";

/** The CSRF token to put in this request's forms, if it has a session. */
export function csrfOf(request: FastifyRequest): string | undefined {
  const token = request.auth?.sessionToken;
  return token ? csrfTokenFor(token) : undefined;
}

/** Hidden CSRF field for forms posted by a signed-in browser. */
export function CsrfField({ request }: { request: FastifyRequest }) {
  return <input type="hidden" name="_csrf" value={csrfOf(request) ?? ""} />;
}

/** Sends a full page in the site layout. */
export function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  title: string,
  body: ComponentChildren,
  status = 200,
  options: { refreshSeconds?: number } = {},
): FastifyReply {
  const ctx = request.server.ctx;
  const html = renderPage(
    {
      title,
      clubName: ctx.config.clubName,
      actor: request.auth?.actor ?? anonymousActor,
      state: ctx.modes.current(),
      csrf: csrfOf(request),
      refreshSeconds: options.refreshSeconds,
    },
    body,
  );
  return reply.code(status).type("text/html; charset=utf-8").send(html);
}
