import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { ForegroundLoad } from "../core/foreground-load.ts";

/** Counts one request in flight into `load` (G11: background work yields to requests) until its
 * response closes, which it does also when the client went away before the answer, so an aborted
 * request cannot leave the count raised for good. Gives the end, for a request handed on before it is
 * answered (the front's, which the framework then counts itself). */
export function countUntilClosed(load: ForegroundLoad, res: ServerResponse): () => void {
  const end = load.begin();
  res.once("close", end);
  return end;
}

/** Counts every request the framework serves, from onRequest, its first hook. */
export function countRequestsInFlight(app: FastifyInstance, load: ForegroundLoad): void {
  app.addHook("onRequest", (_request, reply, done) => {
    countUntilClosed(load, reply.raw);
    done();
  });
}
