import type { FastifyInstance } from "fastify";
import type { ForegroundLoad } from "../core/foreground-load.ts";

/** Counts every request in flight into `load` (G11: background work yields to requests): in at
 * onRequest, the first hook, out when its response closes, which it does also when the client went
 * away before the answer, so an aborted request cannot leave the count raised for good. */
export function countRequestsInFlight(app: FastifyInstance, load: ForegroundLoad): void {
  app.addHook("onRequest", (_request, reply, done) => {
    reply.raw.once("close", load.begin());
    done();
  });
}
