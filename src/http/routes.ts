import type { IncomingMessage } from "node:http";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  preParsingAsyncHookHandler,
  RawServerDefault,
  RouteGenericInterface,
} from "fastify";
import { describeAccess, type Policy } from "../core/access.ts";
import type { ActionSpec } from "../core/action.ts";
import { type Capability, isCapability } from "../core/capabilities.ts";
import { type ActionEffect, EFFECTS } from "../core/modes.ts";
import { Front, type KeptSource } from "./front.ts";
import { guardsFor, identityGuardsFor, policyGuard } from "./guards.ts";
import { isPreviewPath } from "./headers.ts";
import { type RouteAction, routeAction } from "./route-action.ts";
import { EMPTY_QUERY, ERROR_RESPONSES } from "./schema.ts";

/** Which independent limit a route counts against (C-1). */
export type LoadClass = "public" | "member" | "admin" | "callback";

/** What a route does when things are not normal (D-1): every route must say, or take it from its action. */
export interface DegradedBehaviour {
  /** In read-only or maintenance mode: reads "serves"; writes are "refused" (503) or "allowed" (recovery paths). */
  readOnly: "serves" | "refused" | "allowed";
  /** When the database cannot be reached: "503", or "serves" for routes that need no database. */
  databaseDown: "503" | "serves";
  /** The kill switch that turns this route off, or "none". */
  frozenBy: "admin_freeze" | "publish_freeze" | "preview_off" | "none";
}

/** Who may use a route without an action: a capability, any signed-in person, or anyone. */
export type RouteCapability = Capability | "public" | "authenticated";

/** The schemas a route validates its input with (and, for JSON, shapes its output with). */
export type RouteSchema = FastifySchema;

/** The request a handler sees: params, query, body and headers typed from the route's schemas. */
export type RouteRequest<S extends RouteSchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  IncomingMessage,
  S,
  TypeBoxTypeProvider
>;

/** An object-level rule on a route without an action (a read): checked after validation, before the
 * handler, with the input it names. Write routes put their policy on their action instead. */
export interface RoutePolicy {
  rule: Policy<never>;
  input(params: Record<string, string>): unknown;
}

/** A read route's policy with the input it takes from the route's (validated) path parameters. */
export function routePolicy<P>(rule: Policy<P>, input: (params: Record<string, string>) => P): RoutePolicy {
  return { rule: rule as Policy<never>, input };
}

/** Everything a route must declare before it may exist. */
export interface RouteDeclaration<S extends RouteSchema = RouteSchema, I = never, O = unknown> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  /** The action this route runs: who may use the route and what it does when things are not normal come
   * from the action's access and effect, so a route never restates them. */
  action?: ActionSpec<I, O>;
  /** Only for routes without an action. */
  capability?: RouteCapability;
  /** Only for routes without an action (reads): an object-level rule checked before the handler. */
  policy?: RoutePolicy;
  loadClass: LoadClass;
  /** How errors are rendered: an HTML page, JSON, or plain text. */
  response: "html" | "json" | "text";
  /** Only for routes without an action (health, login, static); derived from the action otherwise. */
  degraded?: DegradedBehaviour;
  summary: string;
  /** The largest body this route takes, for the few that take more than the server's small default;
   * such a route checks who is asking before it reads the body. */
  bodyLimit?: number;
  schema?: S;
  /** Only for public GET routes without an action, outside /preview/: the whole answer the route keeps
   * for these path parameters, given to a request with no credentials and no query string before
   * routing, guards and validation (src/http/front.ts); undefined lets the request take the full path. */
  kept?: KeptSource;
  handler: (request: RouteRequest<S>, reply: FastifyReply, action: RouteAction<I, O>) => Promise<unknown>;
}

/** A declared route as listed by `clubos routes --json` and the OpenAPI document. */
export interface RouteListing {
  method: RouteDeclaration["method"];
  url: string;
  capability: RouteCapability;
  /** The object-level policy that also gates it, by name. */
  policy?: string;
  /** The action it runs and that action's effect. */
  action?: string;
  effect?: ActionEffect;
  loadClass: LoadClass;
  response: RouteDeclaration["response"];
  degraded: DegradedBehaviour;
  summary: string;
  writes: boolean;
}

/** What the guards and the error handler read about a route at request time. */
export interface ResolvedRoute extends RouteListing {
  spec?: ActionSpec<unknown, unknown>;
  routePolicy?: RoutePolicy;
}

const LOAD_CLASSES = new Set(["public", "member", "admin", "callback"]);
const READ_ONLY = new Set(["serves", "refused", "allowed"]);
const DB_DOWN = new Set(["503", "serves"]);
const FROZEN = new Set(["admin_freeze", "publish_freeze", "preview_off", "none"]);
const DECLARED = Symbol("clubos.declared");
type PreParsingHook = preParsingAsyncHookHandler;

/** True for methods that change something. */
export function isWrite(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method);
}

/** The degraded behaviour an action's effect gives every route that runs it (the one mode decision,
 * EFFECTS in src/core/modes.ts). */
export function degradedOf(effect: ActionEffect): DegradedBehaviour {
  const rule = EFFECTS[effect];
  return {
    readOnly: rule.refusedInModes ? "refused" : effect === "read" ? "serves" : "allowed",
    databaseDown: "503",
    frozenBy: rule.frozenBy ?? "none",
  };
}

const sameDegraded = (a: DegradedBehaviour, b: DegradedBehaviour) =>
  a.readOnly === b.readOnly && a.databaseDown === b.databaseDown && a.frozenBy === b.frozenBy;

type AnyDeclaration = Partial<RouteDeclaration<RouteSchema, unknown, unknown>>;

/** Throws at boot when a declaration is incomplete or contradicts itself or its action (D-1, G16). */
export function validateDeclaration(decl: AnyDeclaration): void {
  const where = `${decl.method ?? "?"} ${decl.url ?? "?"}`;
  const fail = (what: string): never => {
    throw new Error(
      `Route ${where} is not fully declared: ${what}. Every route declares its capability (or its action), load class and degraded behaviour.`,
    );
  };
  if (!decl.method || !decl.url) fail("method and url are required");
  const write = isWrite(decl.method!);
  if (decl.action) {
    if (decl.capability)
      fail("a route with an action takes its capability from the action; do not restate it");
    if (decl.policy) fail("a route with an action takes its policy from the action");
    if (decl.degraded && !sameDegraded(decl.degraded, degradedOf(decl.action.effect)))
      fail(`its degraded behaviour contradicts its action's effect (${decl.action.effect})`);
  } else {
    if (!decl.capability) fail("capability is missing (use 'public' explicitly for open routes)");
    if (
      decl.capability !== "public" &&
      decl.capability !== "authenticated" &&
      !isCapability(decl.capability!)
    )
      fail(`capability '${decl.capability}' is not in the catalogue`);
    if (write && decl.capability === "authenticated")
      fail("a write route says 'authenticated' only through an action that names a policy");
    if (decl.policy && decl.capability === "public") fail("a public route cannot have a policy");
  }
  if (!decl.loadClass || !LOAD_CLASSES.has(decl.loadClass)) fail("load class is missing or unknown");
  if (!decl.response) fail("response kind is missing");
  if (!decl.summary) fail("summary is missing");
  const d = decl.degraded ?? (decl.action ? degradedOf(decl.action.effect) : undefined);
  if (!d) throw fail("degraded behaviour is missing");
  if (!READ_ONLY.has(d.readOnly)) fail("degraded.readOnly is missing or unknown");
  if (!DB_DOWN.has(d.databaseDown)) fail("degraded.databaseDown is missing or unknown");
  if (!FROZEN.has(d.frozenBy)) fail("degraded.frozenBy is missing or unknown");
  if (write && d.readOnly === "serves")
    fail("a write route must say 'refused' or 'allowed' in read-only mode");
  if (!write && d.readOnly !== "serves") fail("a read route serves in read-only mode");
  if (decl.bodyLimit !== undefined && !(Number.isInteger(decl.bodyLimit) && decl.bodyLimit > 0))
    fail("bodyLimit must be a positive whole number of bytes");
  if (
    decl.kept &&
    (decl.method !== "GET" || decl.action || decl.capability !== "public" || isPreviewPath(decl.url ?? ""))
  )
    fail("only a public GET route without an action, outside /preview/, may answer from what it keeps");
  if (typeof decl.handler !== "function") fail("handler is missing");
}

/** Throws at boot when a route reads input its schema does not cover, or a JSON route has no
 * response schema (the API contract). */
export function validateSchema(decl: AnyDeclaration): void {
  const where = `${decl.method} ${decl.url}`;
  const schema = decl.schema ?? {};
  const params = [...(decl.url ?? "").matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1]!);
  const declared = Object.keys((schema.params as { properties?: object } | undefined)?.properties ?? {});
  const missing = params.filter((p) => !declared.includes(p));
  if (missing.length) throw new Error(`Route ${where}: path parameter ${missing.join(", ")} has no schema.`);
  if (isWrite(decl.method!) && !schema.body)
    throw new Error(
      `Route ${where}: a write route declares its body schema (src/http/schema.ts has EMPTY_BODY and EMPTY_FORM).`,
    );
  if (decl.response === "json") {
    const responses = Object.keys((schema.response as object | undefined) ?? {});
    if (!responses.some((code) => /^2\d\d$/.test(code)))
      throw new Error(`Route ${where}: a JSON route declares the schema of its success response.`);
  }
}

/** The listing of a route: its access and degraded behaviour, from its action when it has one. */
function resolve(decl: RouteDeclaration<RouteSchema, unknown, unknown>): ResolvedRoute {
  const access = decl.action ? describeAccess(decl.action.access as never) : undefined;
  return {
    method: decl.method,
    url: decl.url,
    capability: access?.capability ?? decl.capability!,
    policy: access?.policy ?? decl.policy?.rule.name,
    action: decl.action?.name,
    effect: decl.action?.effect,
    loadClass: decl.loadClass,
    response: decl.response,
    degraded: decl.degraded ?? degradedOf(decl.action!.effect),
    summary: decl.summary,
    writes: isWrite(decl.method),
    spec: decl.action as ActionSpec<unknown, unknown> | undefined,
    routePolicy: decl.policy,
  };
}

/** The route table of one app, kept for `clubos routes` and for the tests that enumerate routes. */
export function routeTable(app: FastifyInstance): RouteListing[] {
  return (app as unknown as { clubosRoutes: RouteListing[] }).clubosRoutes;
}

/** The schemas of each route ("METHOD url" -> schema), for the OpenAPI document. */
export function schemaTable(app: FastifyInstance): Map<string, FastifySchema | undefined> {
  return (app as unknown as { clubosSchemas: Map<string, FastifySchema | undefined> }).clubosSchemas;
}

/** The declaration of the route a request reached, if it reached one. */
export function routeOf(request: FastifyRequest): ResolvedRoute | undefined {
  return (request.routeOptions.config as { declaration?: ResolvedRoute } | undefined)?.declaration;
}

/** The app's front (the kept answers given before routing). */
export function frontOf(app: FastifyInstance): Front {
  return (app as unknown as { clubosFront: Front }).clubosFront;
}

/** Makes the app refuse any route that did not come through declareRoute, and starts its table. */
export function enforceDeclarations(app: FastifyInstance, front = new Front()): void {
  app.decorate("clubosRoutes", [] as RouteListing[]);
  app.decorate("clubosSchemas", new Map());
  app.decorate("clubosFront", front);
  app.addHook("onRoute", (options) => {
    const config = options.config as Record<symbol, unknown> | undefined;
    if (!config?.[DECLARED] && options.method !== "HEAD") {
      throw new Error(
        `Route ${String(options.method)} ${options.url} was registered without a declaration; use declareRoute().`,
      );
    }
  });
}

/** Registers one route with its guards, after checking its declaration and schemas. */
export function declareRoute<S extends RouteSchema, I = never, O = unknown>(
  app: FastifyInstance,
  decl: RouteDeclaration<S, I, O>,
): void {
  const any = decl as unknown as RouteDeclaration<RouteSchema, unknown, unknown>;
  validateDeclaration(any);
  validateSchema(any);
  const resolved = resolve(any);
  const { spec, routePolicy: policy, ...listing } = resolved;
  routeTable(app).push(listing);
  const schema: FastifySchema = {
    querystring: EMPTY_QUERY,
    ...decl.schema,
    ...(decl.response === "json"
      ? { response: { ...ERROR_RESPONSES, ...(decl.schema?.response as object) } }
      : {}),
  };
  schemaTable(app).set(`${decl.method} ${decl.url}`, schema);
  if (decl.kept) frontOf(app).add(decl.url, decl.kept, decl.loadClass);
  app.route({
    method: decl.method,
    url: decl.url,
    schema,
    config: { [DECLARED]: true, declaration: resolved } as Record<string | symbol, unknown>,
    bodyLimit: decl.bodyLimit,
    // A large body is read only for someone allowed to send it.
    preParsing:
      decl.bodyLimit === undefined ? undefined : (identityGuardsFor(resolved) as unknown as PreParsingHook),
    // Guards run before validation, so nobody learns anything from a route they may not use.
    preValidation: guardsFor(resolved),
    // An object-level rule of a read route needs its validated input.
    preHandler: policy ? policyGuard(policy) : undefined,
    handler: (request, reply) =>
      decl.handler(request as never, reply, routeAction(request, spec as ActionSpec<I, O> | undefined)),
  });
}
