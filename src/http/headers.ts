import fastifyHelmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";
import { strictTransportSecurity } from "helmet";
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

/** Helmet's security headers on every response, with our policy; HSTS only over https. */
export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "same-origin" },
    // Sent over plain http it would be ignored at best; over https it pins the browser to https.
    strictTransportSecurity: false,
  });
  const hsts = strictTransportSecurity();
  app.addHook("onRequest", async (request, reply) => {
    // request.protocol reads X-Forwarded-Proto only from a trusted proxy (CLUBOS_TRUST_PROXY).
    if (request.protocol === "https") hsts(request.raw, reply.raw, () => {});
  });
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
 */
export function installCachePolicy(app: FastifyInstance): void {
  app.addHook("onSend", async (request, reply, payload) => {
    const route = routeOf(request);
    const personal = route !== undefined && route.capability !== "public";
    if (personal || carriesCredentials(request)) reply.header("cache-control", PRIVATE);
    if (isPreviewPath(request.url)) for (const [name, value] of PREVIEW_HEADERS) reply.header(name, value);
    return payload;
  });
}
