import type { FastifyInstance, FastifySchema } from "fastify";
import { Type } from "typebox";
import { errorCatalogue } from "../core/errors.ts";
import { NO_DB } from "./declarations.ts";
import { declareRoute, type RouteListing, routeTable, schemaTable } from "./routes.ts";
import { ERROR } from "./schema.ts";

/* The OpenAPI 3.1 document of the JSON API, built from the same declarations that register the routes:
 * who may call each route (capability, policy), what it runs (action, effect), how it behaves when
 * things are not normal, its inputs and every response from the route's schemas, and the one error
 * shape with the catalogue of codes. Nothing here is written by hand per route. */

type Json = Record<string, unknown>;
type ObjectSchema = { properties?: Record<string, Json>; required?: string[] } | undefined;

const ERROR_REF = { $ref: "#/components/schemas/Error" };
const ERROR_DESCRIPTION = "Errors are {error: {code, message, details?}} with a code from the catalogue";

/** A schema as plain JSON Schema: TypeBox's symbol keys and undefined values dropped. */
const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema ?? {}));

/** "idempotency-key" as its documents spell it, "Idempotency-Key". */
const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());

/** One OpenAPI parameter per property of an input schema. */
function parametersIn(where: "query" | "header", schema: unknown): Json[] {
  const object = schema as ObjectSchema;
  return Object.entries(object?.properties ?? {}).map(([name, property]) => ({
    name: where === "header" ? headerName(name) : name,
    in: where,
    required: object?.required?.includes(name) ?? false,
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: plain(property),
  }));
}

/** The path parameters, in the order the URL names them. */
function pathParameters(url: string, schema: unknown): Json[] {
  const properties = (schema as ObjectSchema)?.properties ?? {};
  return [...url.matchAll(/:([a-zA-Z]+)/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: plain(properties[name!] ?? { type: "string" }),
  }));
}

const IDEMPOTENCY_KEY_PARAMETER = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Replays return the first response (24 h); a different body under the same key is refused with 422",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};

function parameters(route: RouteListing, schema: FastifySchema | undefined): Json[] {
  const list = [
    ...pathParameters(route.url, schema?.params),
    ...parametersIn("query", schema?.querystring),
    ...parametersIn("header", schema?.headers),
  ];
  // Every POST that writes may be retried safely with a key (W-3).
  if (route.writes && route.method === "POST" && !list.some((p) => p.name === "Idempotency-Key"))
    list.push(IDEMPOTENCY_KEY_PARAMETER);
  return list;
}

/** A body that may be left out (EMPTY_BODY and its kind: a union with null). */
function bodyOptional(schema: Json): boolean {
  const options = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  return schema.type === "null" || Boolean(options?.some((s) => s.type === "null"));
}

/** The responses a route declared, success and errors; the error shape is referenced, not repeated. */
function responses(route: RouteListing, schema: FastifySchema | undefined): Json {
  const declared = Object.entries((schema?.response as Record<string, unknown> | undefined) ?? {});
  const out: Json = {};
  for (const [code, body] of declared) {
    const key = code.toUpperCase(); // "4xx" is spelled "4XX" in OpenAPI
    const isError = body === ERROR;
    const own = (body as Json).description;
    const description = isError
      ? ERROR_DESCRIPTION
      : typeof own === "string"
        ? own
        : /^2/.test(code)
          ? route.summary
          : `Answered with ${code}`;
    out[key] = {
      description,
      content: { "application/json": { schema: isError ? ERROR_REF : plain(body) } },
    };
  }
  if (!out["4XX"] && !out["5XX"])
    out.default = {
      description: ERROR_DESCRIPTION,
      content: { "application/json": { schema: ERROR_REF } },
    };
  return out;
}

function operation(route: RouteListing, schema: FastifySchema | undefined): Json {
  const op: Json = {
    summary: route.summary,
    parameters: parameters(route, schema),
    responses: responses(route, schema),
    "x-clubos-capability": route.capability,
    "x-clubos-policy": route.policy ?? null,
    "x-clubos-action": route.action ?? null,
    "x-clubos-effect": route.effect ?? null,
    "x-clubos-load-class": route.loadClass,
    "x-clubos-degraded": route.degraded,
  };
  if (route.capability !== "public") op.security = [{ bearer: [] }, { session: [] }];
  if (schema?.body) {
    const body = plain(schema.body);
    op.requestBody = { required: !bodyOptional(body), content: { "application/json": { schema: body } } };
  }
  return op;
}

/** The one error shape, with every catalogued code (errorCatalogue in src/core/errors.ts). */
function errorSchema(): Json {
  const catalogue = errorCatalogue();
  return {
    type: "object",
    required: ["error"],
    description: "Every answer that is not a success",
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: {
          code: {
            type: "string",
            enum: catalogue.map((e) => e.code),
            description: "A stable code; x-clubos-error-codes says what each means and its status",
          },
          message: { type: "string", description: "What happened and what to do, for a person" },
          details: { type: "object", additionalProperties: true },
        },
      },
    },
    "x-clubos-error-codes": catalogue.map(({ code, status, description }) => ({ code, status, description })),
  };
}

/** The routes the document describes: the JSON API and the JSON health routes. */
const documented = (route: RouteListing) => route.response === "json" || route.url.startsWith("/api/");

/** The OpenAPI 3.1 document of the JSON API, built from the same declarations that register the routes. */
export function openApiDocument(app: FastifyInstance, version: string): Json {
  const paths: Record<string, Json> = {};
  const schemas = schemaTable(app);
  for (const route of routeTable(app).filter(documented)) {
    const path = route.url.replace(/:([a-zA-Z]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = operation(route, schemas.get(`${route.method} ${route.url}`));
  }
  return {
    openapi: "3.1.0",
    info: { title: "ClubOS API", version },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "Personal API token from `clubos token create`",
        },
        session: { type: "apiKey", in: "cookie", name: "clubos_session" },
      },
      schemas: { Error: errorSchema() },
    },
  };
}

/** The document as a response schema: its top level; paths and components are free-form JSON. */
const OpenApiOut = Type.Object({
  openapi: Type.String(),
  info: Type.Object({ title: Type.String(), version: Type.String() }),
  paths: Type.Record(Type.String(), Type.Unknown()),
  components: Type.Record(Type.String(), Type.Unknown()),
});

/** GET /api/v1/openapi.json. */
export function openApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/api/v1/openapi.json",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: NO_DB,
    summary: "This document",
    schema: { response: { 200: OpenApiOut } },
    handler: async (request) =>
      openApiDocument(request.server, request.server.ctx.deploy?.version ?? "unknown"),
  });
}
