import type { FastifyRequest } from "fastify";
import type { ContentVersions } from "../core/db/content-versions.ts";
import "./request-context.ts";

/* The content versions as one request sees them: read once per request, on first use (by the
 * authenticator or a route), through the app's shared reader, so the read began after the request
 * arrived; later uses in the same request get the same answer, so one request never mixes two. */

const perRequest = new WeakMap<FastifyRequest, Promise<ContentVersions>>();

/** The versions this request reads, read on first use. */
export function contentVersionsOf(request: FastifyRequest): Promise<ContentVersions> {
  let read = perRequest.get(request);
  if (!read) {
    read = request.server.ctx.contentVersions.get();
    perRequest.set(request, read);
  }
  return read;
}
