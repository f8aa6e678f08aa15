import type { IncomingMessage, ServerResponse } from "node:http";
import { carriesCredentials } from "./credentials.ts";
import { isHttps, securityHeadersOf, type Trust } from "./headers.ts";
import { type ResponseRecorder, recordResponse } from "./responses.ts";

/* Kept answers served in front of the framework. A public GET route may keep whole answers (the same
 * bytes for every visitor without credentials, such as a published public page); a request such a
 * route would answer from what it keeps is answered here, before routing, hooks and the reply
 * machinery, which are most of the cost of sending bytes already made. Everything else, and anything
 * the answer source declines, goes on to the framework, whose full path answers it as it would have:
 * falling through is always right, answering here is only ever faster.
 *
 * Answered here only: GET, no query string (one may change the answer), no credentials (so the asker is
 * anonymous, and a public read's guards pass it unless the database is out of reach, which is left to
 * the full path), a path that matches a route with a kept source segment by segment (parameters of
 * plain characters only: anything encoded goes to the router, which decodes and validates it), and
 * while the server is not closing. What the full path adds to every response is added here by the same
 * functions: the security headers, the request count in flight, the response metrics and log line. */

/** What a kept source gives: the bytes, their ETag, and the answer's own headers (cache and type) as
 * flat name, value pairs, exactly as the full path sends them. */
export interface KeptAnswer {
  bytes: Buffer;
  etag: string;
  headers: readonly string[];
}

/** A route's kept answers: the answer for these path parameters, or undefined for the full path. */
export type KeptSource = (params: Record<string, string>) => Promise<KeptAnswer | undefined>;

/** The headers of a 304: the answer's own less its type, as the framework sends them. */
const NOT_MODIFIED_DROPS = new Set(["content-type"]);

interface KeptRoute {
  /** The pattern as a whole-path expression: each parameter one group of plain characters. */
  path: RegExp;
  names: readonly string[];
  source: KeptSource;
  loadClass: string;
}

/** What the front needs of the running app, given once it exists (the server is made before it). */
export interface FrontContext {
  databaseReachable(): boolean;
  /** Counts the request in flight until its response closes; the returned function ends it sooner. */
  countInFlight?: (res: ServerResponse) => () => void;
  trust: Trust;
  recorder: ResponseRecorder;
}

/** A parameter value the front matches: anything else (encoded, dotted, empty) goes to the router. */
const PLAIN = "([A-Za-z0-9_-]+)";

/** Each answer's full headers over http and over https, made once per answer. */
const heads = new WeakMap<KeptAnswer, { http: string[]; https: string[] }>();

function headsOf(answer: KeptAnswer) {
  let made = heads.get(answer);
  if (!made) {
    const of = (https: boolean) => [...securityHeadersOf(https), ...answer.headers];
    made = { http: of(false), https: of(true) };
    heads.set(answer, made);
  }
  return made;
}

/** The kept routes of one server and the handler that answers from them. */
export class Front {
  private readonly routes: KeptRoute[] = [];
  private closing = false;
  /** How many requests were answered here (the rest went to the framework). */
  answered = 0;
  private context: FrontContext | undefined;

  /** Adds a route's kept source, for its URL pattern ("/p/:slug"). */
  add(url: string, source: KeptSource, loadClass: string): void {
    const names: string[] = [];
    const parts = url.split("/").map((segment) => {
      if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(segment.slice(1));
      return PLAIN;
    });
    this.routes.push({ path: new RegExp(`^${parts.join("/")}$`), names, source, loadClass });
  }

  /** Starts answering, with what the app gives. */
  open(context: FrontContext): void {
    this.context = context;
  }

  /** Stops answering: from now on every request goes to the framework (which refuses new ones). */
  close(): void {
    this.closing = true;
  }

  /** The server's request handler: kept answers here, everything else to `next`. */
  handler(next: (req: IncomingMessage, res: ServerResponse) => void) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const context = this.context;
      const match = context && !this.closing ? this.match(req) : undefined;
      if (!match || !context!.databaseReachable()) return next(req, res);
      void this.answer(context!, match, req, res, next);
    };
  }

  private match(req: IncomingMessage): { route: KeptRoute; params: Record<string, string> } | undefined {
    const url = req.url ?? "";
    if (req.method !== "GET" || url.includes("?") || carriesCredentials(req.headers)) return undefined;
    for (const route of this.routes) {
      const found = route.path.exec(url);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = found[i + 1]!;
      });
      return { route, params };
    }
    return undefined;
  }

  /** Answers from the route's kept source, or hands the request on when it has no answer (or fails). */
  private async answer(
    context: FrontContext,
    { route, params }: { route: KeptRoute; params: Record<string, string> },
    req: IncomingMessage,
    res: ServerResponse,
    next: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<void> {
    const started = performance.now();
    const end = context.countInFlight?.(res);
    const answer = await route.source(params).catch((error: unknown) => {
      context.recorder.log.warn(
        { err: error },
        "a kept answer failed; the request takes the route's full path",
      );
      return undefined;
    });
    if (!answer) {
      end?.();
      return next(req, res);
    }
    const elapsed = performance.now() - started;
    const timing = `app;dur=${elapsed.toFixed(1)}`;
    const https = isHttps(req, context.trust);
    if (req.headers["if-none-match"] === answer.etag) {
      const head = [...securityHeadersOf(https), ...withoutTypes(answer.headers)];
      res.writeHead(304, [...head, "server-timing", timing]);
      res.end();
    } else {
      const head = headsOf(answer)[https ? "https" : "http"];
      res.writeHead(200, [...head, "server-timing", timing, "content-length", String(answer.bytes.length)]);
      res.end(answer.bytes);
    }
    this.answered++;
    recordResponse(context.recorder, {
      method: "GET",
      url: req.url!,
      loadClass: route.loadClass,
      status: res.statusCode,
      milliseconds: elapsed,
    });
  }
}

function withoutTypes(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (!NOT_MODIFIED_DROPS.has(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
  return out;
}
