import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { countResponse } from "../core/metrics.ts";

/* What every response leaves behind, whichever path answered it (the framework's or the front's kept
 * answers): its count and latency in the metrics, by load class and status, and at log level info one
 * line. The framework's own request logging is off so that there is this one kind of line. */

/** Where responses are recorded: the app's log, and whether each request gets a line (level info). */
export interface ResponseRecorder {
  log: FastifyBaseLogger;
  logsRequests: boolean;
}

/** One answered request. */
export interface AnsweredRequest {
  /** The framework's request id; the front's answers get one of their own when logged. */
  reqId?: string;
  method: string;
  url: string;
  loadClass: string;
  status: number;
  milliseconds: number;
}

/** Counts the response and, when requests are logged, writes its line. */
export function recordResponse(recorder: ResponseRecorder, answered: AnsweredRequest): void {
  countResponse(answered.loadClass, answered.status, answered.milliseconds / 1000);
  if (!recorder.logsRequests) return;
  recorder.log.info(
    {
      reqId: answered.reqId ?? randomUUID(),
      req: { method: answered.method, url: answered.url },
      res: { statusCode: answered.status },
      responseTime: answered.milliseconds,
    },
    "request completed",
  );
}
