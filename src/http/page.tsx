import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ComponentChildren } from "preact";
import { type Actor, anonymousActor } from "../core/actor.ts";
import { csrfTokenFor } from "./guards.ts";
import { renderPage } from "./layout.tsx";
import "./request-context.ts";

/** The CSRF token to put in this request's forms, if it has a session. */
export function csrfOf(request: FastifyRequest): string | undefined {
  const token = request.auth?.sessionToken;
  return token ? csrfTokenFor(token) : undefined;
}

/** What a view may know of the request it renders for: who asks, the form token, the club's zone. Views
 * get this and presented data, never the Fastify request. */
export interface PageContext {
  actor: Actor;
  /** The CSRF token for this page's forms (signed-in browsers only). */
  csrf: string | undefined;
  timeZone: string;
}

/** The page context of a request. */
export function pageContext(request: FastifyRequest): PageContext {
  return {
    actor: request.auth?.actor ?? anonymousActor,
    csrf: csrfOf(request),
    timeZone: request.server.ctx.config.timeZone,
  };
}

/** Hidden CSRF field for forms posted by a signed-in browser. */
export function CsrfField({ page }: { page: PageContext }) {
  return <input type="hidden" name="_csrf" value={page.csrf ?? ""} />;
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

/** A link the site's own pages add to the header navigation (the published pages a visitor may see). */
export interface SiteLink {
  href: string;
  label: string;
  /** A page listed under another one. */
  child?: boolean;
}

/** How a page is framed beyond its title and body. */
export interface PageOptions {
  refreshSeconds?: number;
  /** The site's pages in the header, already filtered for who asks. */
  siteLinks?: readonly SiteLink[];
  /** A description for search engines and link previews (a published page's summary). */
  description?: string;
}

/** A full page in the site layout, as HTML text (for a route that hashes it into an ETag first). */
export function pageHtml(
  request: FastifyRequest,
  title: string,
  body: ComponentChildren,
  options: PageOptions = {},
): string {
  const ctx = request.server.ctx;
  const actor = request.auth?.actor ?? anonymousActor;
  // Operator alerts go on admin pages, to the people who can act on them (full admins, operators):
  // their words may name an incident. The watcher already holds them, so this reads nothing.
  const adminPage = /^\/admin(?:[/?]|$)/.test(request.url);
  const canAct = actor.capabilities.has("incidents:manage") || actor.capabilities.has("system:operate");
  const alerts = adminPage && canAct ? ctx.modes.alerts() : undefined;
  return renderPage(
    {
      title,
      clubName: ctx.config.clubName,
      actor,
      state: ctx.modes.current(),
      alerts,
      csrf: csrfOf(request),
      refreshSeconds: options.refreshSeconds,
      siteLinks: options.siteLinks,
      description: options.description,
    },
    body,
  );
}

/** Sends a full page in the site layout. */
export function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  title: string,
  body: ComponentChildren,
  status = 200,
  options: PageOptions = {},
): FastifyReply {
  const html = pageHtml(request, title, body, options);
  return reply.code(status).type("text/html; charset=utf-8").send(html);
}
