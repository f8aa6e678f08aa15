import type { FastifyInstance, FastifySchema } from "fastify";
import { declareRoute, type RouteListing, routeTable, schemaTable } from "./routes.ts";

type Json = Record<string, unknown>;

function parameters(url: string, schema: FastifySchema | undefined): Json[] {
  const names = [...url.matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1]!);
  const props = ((schema?.params as Json | undefined)?.properties ?? {}) as Record<string, Json>;
  return names.map((name) => ({
    name,
    in: "path",
    required: true,
    schema: props[name] ?? { type: "string" },
  }));
}

function operation(route: RouteListing, schema: FastifySchema | undefined): Json {
  const op: Json = {
    summary: route.summary,
    parameters: parameters(route.url, schema),
    responses: {
      default: {
        description: "Errors are {error: {code, message, details?}} with a stable code",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    },
    "x-clubos-capability": route.capability,
    "x-clubos-load-class": route.loadClass,
    "x-clubos-degraded": route.degraded,
  };
  if (route.capability !== "public") op.security = [{ bearer: [] }, { session: [] }];
  if (schema?.body)
    op.requestBody = { required: true, content: { "application/json": { schema: schema.body } } };
  if (route.writes && route.method === "POST") {
    (op.parameters as Json[]).push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Replays return the first response (24 h); a different body under the same key is refused with 422",
      schema: { type: "string", maxLength: 255 },
    });
  }
  return op;
}

/** The OpenAPI 3.1 document of the JSON API, built from the same declarations that register the routes. */
export function openApiDocument(app: FastifyInstance, version: string): Json {
  const paths: Record<string, Json> = {};
  const schemas = schemaTable(app);
  for (const route of routeTable(app).filter((r) => r.url.startsWith("/api/"))) {
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
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string" },
                message: { type: "string" },
                details: { type: "object" },
              },
            },
          },
        },
      },
    },
  };
}

/** GET /api/v1/openapi.json. */
export function openApiRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/api/v1/openapi.json",
    capability: "public",
    loadClass: "public",
    response: "json",
    degraded: { readOnly: "serves", databaseDown: "serves", frozenBy: "none" },
    summary: "This document",
    handler: async (request) =>
      openApiDocument(request.server, request.server.ctx.deploy?.version ?? "unknown"),
  });
}
