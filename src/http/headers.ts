import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance } from "fastify";
import helmet, { strictTransportSecurity } from "helmet";
import { carriesCredentials } from "./credentials.ts";
import { routeOf } from "./routes.ts";

/** The pages load only our own scripts, styles and images, cannot be framed, and post only to us. */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    scriptSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    frameAncestors: ["'none'"],
    formAction: ["'self'"],
  },
};

/** Helmet's security headers with our policy, computed once: helmet's answer depends on its options
 * only (no nonces are used), so running its middleware chain on every request would give these very
 * headers at several times the cost. HSTS is left out: it is only for https (below). */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let done = false;
  helmet({
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "same-origin" },
    // Sent over plain http it would be ignored at best; over https it pins the browser to https.
    strictTransportSecurity: false,
  })({} as never, response as never, () => {
    done = true;
  });
  if (!done) throw new Error("helmet did not finish synchronously: its headers cannot be computed once");
  return headers;
}

/** Whether a peer at this address, this many hops back, is a proxy we trust (CLUBOS_TRUST_PROXY): the
 * framework's trustProxy and the front are given the same function. */
export type Trust = (address: string, hop: number) => boolean;

/** Whether the request came over https: its own connection, or the X-Forwarded-Proto of a trusted proxy
 * (its last entry), read as the framework reads request.protocol. */
export function isHttps(req: IncomingMessage, trust: Trust): boolean {
  const forwarded = req.headers["x-forwarded-proto"];
  if (typeof forwarded === "string" && forwarded && req.socket?.remoteAddress !== undefined)
    if (trust(req.socket.remoteAddress, 0))
      return forwarded.slice(forwarded.lastIndexOf(",") + 1).trim() === "https";
  return (req.socket as TLSSocket | undefined)?.encrypted === true;
}

const SECURITY = securityHeaders();
const SECURE_SECURITY = { ...SECURITY, "strict-transport-security": strictTransportHeader() };
const FLAT = { http: Object.entries(SECURITY).flat(), https: Object.entries(SECURE_SECURITY).flat() };

/** Helmet's security headers with our policy as flat name, value pairs, HSTS only over https. */
export function securityHeadersOf(https: boolean): readonly string[] {
  return https ? FLAT.https : FLAT.http;
}

/** Helmet's security headers on every response (errors and unknown routes included: set when the
 * request arrives), with our policy; HSTS only over https. */
export function installSecurityHeaders(app: FastifyInstance, trust: Trust): void {
  app.addHook("onRequest", (request, reply, done) => {
    reply.headers(isHttps(request.raw, trust) ? SECURE_SECURITY : SECURITY);
    done();
  });
}

/** Helmet's HSTS header with its defaults, read once. */
function strictTransportHeader(): string {
  let value = "";
  strictTransportSecurity()(
    {} as never,
    { setHeader: (_name: string, v: string) => (value = v) } as never,
    () => {},
  );
  return value;
}

const PRIVATE = "private, no-store";

/** Everything under /preview/ (R-5), errors and refusals included: never indexed, never kept by any
 * cache (no-store, with private like every other restricted answer), and its address never sent on to
 * another site. */
const PREVIEW_HEADERS = [
  ["x-robots-tag", "noindex, nofollow"],
  ["cache-control", PRIVATE],
  ["referrer-policy", "no-referrer"],
] as const;

/** True for the preview routes' paths. */
export const isPreviewPath = (url: string) => url.startsWith("/preview/");

/**
 * No shared cache keeps a response that depends on who asks: one to a request carrying
 * credentials (valid or not), or from a route that is not public, errors included. Decided here for
 * every route, so that a new route cannot forget it; public anonymous responses keep their own header.
 * The same hook, the last header step of every response, adds its Server-Timing.
 */
export function installCachePolicy(app: FastifyInstance): void {
  app.addHook("onSend", (request, reply, payload, done) => {
    const route = routeOf(request);
    const personal = route !== undefined && route.capability !== "public";
    if (personal || carriesCredentials(request.headers)) reply.header("cache-control", PRIVATE);
    if (isPreviewPath(request.url)) for (const [name, value] of PREVIEW_HEADERS) reply.header(name, value);
    // Server time so far, for operators' tools and the benchmarks (excludes the network).
    reply.header("server-timing", `app;dur=${reply.elapsedTime.toFixed(1)}`);
    done(null, payload);
  });
}
