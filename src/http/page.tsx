import { randomBytes } from "node:crypto";
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

/** A one-time token per rendered form (oncePerFormToken): a double click or a browser retry replays the
 * first answer instead of writing twice. */
export function FormToken() {
  return <input type="hidden" name="_form" value={randomBytes(16).toString("hex")} />;
}

/** A status line after an action ("Saved."); nothing when there is no text. */
export function Notice({ text }: { text?: string }) {
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;
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
