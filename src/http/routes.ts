import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  RouteShorthandOptions,
} from "fastify";
import { type Capability, isCapability } from "../core/capabilities.ts";
import { guardsFor } from "./guards.ts";

/** Which independent limit a route counts against (C-1). */
export type LoadClass = "public" | "member" | "admin" | "callback";

/** What a route does when things are not normal (D-1): every route must say. */
export interface DegradedBehaviour {
  /** In read-only or maintenance mode: reads "serves"; writes are "refused" (503) or "allowed" (recovery paths). */
  readOnly: "serves" | "refused" | "allowed";
  /** When the database cannot be reached: "503", or "serves" for routes that need no database. */
  databaseDown: "503" | "serves";
  /** The kill switch that turns this route off, or "none". */
  frozenBy: "admin_freeze" | "publish_freeze" | "preview_off" | "none";
}

/** Everything a route must declare before it may exist. */
export interface RouteDeclaration {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  /** The capability required, "authenticated" for any signed-in person, or "public" explicitly. */
  capability: Capability | "public" | "authenticated";
  loadClass: LoadClass;
  /** How errors are rendered: an HTML page, JSON, or plain text. */
  response: "html" | "json" | "text";
  degraded: DegradedBehaviour;
  summary: string;
  schema?: FastifySchema;
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/** A declared route as listed by `clubos routes --json`. */
export type RouteListing = Omit<RouteDeclaration, "handler" | "schema"> & { writes: boolean };

const LOAD_CLASSES = new Set(["public", "member", "admin", "callback"]);
const READ_ONLY = new Set(["serves", "refused", "allowed"]);
const DB_DOWN = new Set(["503", "serves"]);
const FROZEN = new Set(["admin_freeze", "publish_freeze", "preview_off", "none"]);
const DECLARED = Symbol("clubos.declared");

/** True for methods that change something. */
export function isWrite(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method);
}

/** Throws at boot when a declaration is incomplete or contradicts itself (D-1, G16). */
export function validateDeclaration(decl: Partial<RouteDeclaration>): asserts decl is RouteDeclaration {
  const where = `${decl.method ?? "?"} ${decl.url ?? "?"}`;
  const fail = (what: string) => {
    throw new Error(
      `Route ${where} is not fully declared: ${what}. Every route declares its capability, load class and degraded behaviour.`,
    );
  };
  if (!decl.method || !decl.url) fail("method and url are required");
  if (!decl.capability) fail("capability is missing (use 'public' explicitly for open routes)");
  if (decl.capability !== "public" && decl.capability !== "authenticated" && !isCapability(decl.capability!))
    fail(`capability '${decl.capability}' is not in the catalogue`);
  if (!decl.loadClass || !LOAD_CLASSES.has(decl.loadClass)) fail("load class is missing or unknown");
  if (!decl.response) fail("response kind is missing");
  if (!decl.summary) fail("summary is missing");
  const d = decl.degraded;
  if (!d) return fail("degraded behaviour is missing");
  if (!READ_ONLY.has(d.readOnly)) fail("degraded.readOnly is missing or unknown");
  if (!DB_DOWN.has(d.databaseDown)) fail("degraded.databaseDown is missing or unknown");
  if (!FROZEN.has(d.frozenBy)) fail("degraded.frozenBy is missing or unknown");
  if (isWrite(decl.method!) && d.readOnly === "serves")
    fail("a write route must say 'refused' or 'allowed' in read-only mode");
  if (!isWrite(decl.method!) && d.readOnly !== "serves") fail("a read route serves in read-only mode");
  if (typeof decl.handler !== "function") fail("handler is missing");
}

/** The route table of one app, kept for `clubos routes` and for the tests that enumerate routes. */
export function routeTable(app: FastifyInstance): RouteListing[] {
  return (app as unknown as { clubosRoutes: RouteListing[] }).clubosRoutes;
}

/** The validation schema of each route ("METHOD url" -> schema), for the OpenAPI document. */
export function schemaTable(app: FastifyInstance): Map<string, FastifySchema | undefined> {
  return (app as unknown as { clubosSchemas: Map<string, FastifySchema | undefined> }).clubosSchemas;
}

/** Makes the app refuse any route that did not come through declareRoute, and starts its table. */
export function enforceDeclarations(app: FastifyInstance): void {
  app.decorate("clubosRoutes", [] as RouteListing[]);
  app.decorate("clubosSchemas", new Map());
  app.addHook("onRoute", (options) => {
    const config = options.config as Record<symbol, unknown> | undefined;
    if (!config?.[DECLARED] && options.method !== "HEAD") {
      throw new Error(
        `Route ${String(options.method)} ${options.url} was registered without a declaration; use declareRoute().`,
      );
    }
  });
}

/** Registers one route with its guards, after checking its declaration. */
export function declareRoute(app: FastifyInstance, decl: RouteDeclaration): void {
  validateDeclaration(decl);
  const { handler, schema, ...listing } = decl;
  routeTable(app).push({ ...listing, writes: isWrite(decl.method) });
  schemaTable(app).set(`${decl.method} ${decl.url}`, schema);
  const options: RouteShorthandOptions = {
    schema,
    config: { [DECLARED]: true, declaration: listing } as Record<string | symbol, unknown>,
    // Guards run before validation, so nobody learns anything from a route they may not use.
    preValidation: guardsFor(decl),
  };
  app.route({ method: decl.method, url: decl.url, ...options, handler });
}
