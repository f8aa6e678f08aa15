import assert from "node:assert/strict";
import { test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { AppContext } from "../../src/app/context.ts";
import { buildServer } from "../../src/app/server.ts";
import { errorCatalogue } from "../../src/core/errors.ts";
import { routeTable } from "../../src/http/routes.ts";
import { testConfig } from "../helpers/app.ts";

type Operation = Record<string, unknown> & {
  parameters: { name: string; in: string; required: boolean }[];
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
};
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { Error: Record<string, unknown> } };
};

/** The document as GET /api/v1/openapi.json serves it, and the app's route table. */
async function served() {
  const ctx = { config: testConfig().config, deploy: null, modes: { current: () => null } };
  const app = await buildServer(ctx as unknown as AppContext);
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const res = await fetch(`${base}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    return { doc: (await res.json()) as Doc, routes: routeTable(app) };
  } finally {
    await app.close();
  }
}

const pathOf = (url: string) => url.replace(/:([a-zA-Z]+)/g, "{$1}");

test("the OpenAPI document lists every JSON API route with its capability, degraded behaviour and schemas", async () => {
  const { doc, routes } = await served();
  assert.equal(doc.openapi, "3.1.0");
  const api = routes.filter((r) => r.url.startsWith("/api/"));
  assert.ok(api.length >= 10);
  for (const route of api) {
    const op = doc.paths[pathOf(route.url)]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${route.url} is documented`);
    assert.equal(op["x-clubos-capability"], route.capability);
    assert.deepEqual(op["x-clubos-degraded"], route.degraded);
    if (route.capability !== "public") assert.ok(op.security, `${route.url} says it needs credentials`);
    if (route.writes && route.method === "POST") {
      assert.ok((op.parameters as { name: string }[]).some((p) => p.name === "Idempotency-Key"));
    }
  }
  const register = doc.paths["/api/v1/events/{id}/registrations"]?.post;
  assert.ok(register?.requestBody, "request bodies come from the validation schema");
});

test("every documented route names its policy, action and effect, and every JSON route its success schema", async () => {
  const { doc, routes } = await served();
  const json = routes.filter((r) => r.response === "json");
  assert.ok(
    json.some((r) => r.url === "/readyz"),
    "the JSON health routes are documented too",
  );
  for (const route of json) {
    const where = `${route.method} ${route.url}`;
    const op = doc.paths[pathOf(route.url)]?.[route.method.toLowerCase()];
    assert.ok(op, `${where} is documented`);
    assert.equal(op["x-clubos-policy"], route.policy ?? null, where);
    assert.equal(op["x-clubos-action"], route.action ?? null, where);
    assert.equal(op["x-clubos-effect"], route.effect ?? null, where);
    const success = Object.entries(op.responses).filter(([code]) => /^2\d\d$/.test(code));
    assert.ok(success.length > 0, `${where} documents a 2xx response`);
    for (const [code, response] of success) {
      const schema = response.content?.["application/json"]?.schema;
      assert.ok(schema && Object.keys(schema).length > 0, `${where} ${code} has a schema`);
    }
    for (const range of ["4XX", "5XX"]) {
      assert.deepEqual(
        op.responses[range]?.content?.["application/json"]?.schema,
        { $ref: "#/components/schemas/Error" },
        `${where} ${range} is the error shape`,
      );
    }
  }

  const patch = doc.paths["/api/v1/events/{id}"]?.patch;
  assert.ok(patch);
  assert.equal(patch["x-clubos-policy"], "events.manages-event");
  assert.equal(patch["x-clubos-action"], "updateEvent");
  assert.equal(patch["x-clubos-effect"], "admin");
  assert.deepEqual(
    patch.parameters.map((p) => [p.in, p.name, p.required]),
    [
      ["path", "id", true],
      ["header", "If-Match", false],
      ["header", "Idempotency-Key", false],
    ],
    "parameters come from the params and headers schemas",
  );
  const version = doc.paths["/api/v1/system/version"]?.get;
  const versionSchema = version?.responses["200"]?.content?.["application/json"]?.schema as {
    properties: Record<string, unknown>;
  };
  assert.ok(versionSchema.properties.gitCommit, "response schemas are camelCase presenters' shapes");
  const ready = doc.paths["/readyz"]?.get;
  assert.ok(ready?.responses["503"], "a declared 503 answer is documented beside the 200");
  assert.equal(doc.paths["/api/v1/me"]?.get?.["x-clubos-policy"], "signed-in-member");
  assert.equal(doc.paths["/api/v1/system/mode"]?.post?.["x-clubos-effect"], "recovery");
});

test("the Error schema lists every catalogued code as an enum, with its status and description", async () => {
  const { doc } = await served();
  const error = doc.components.schemas.Error as {
    properties: { error: { properties: { code: { enum: string[] } } } };
    "x-clubos-error-codes": { code: string; status: number; description: string }[];
  };
  const catalogue = errorCatalogue();
  const codes = error.properties.error.properties.code.enum;
  assert.deepEqual(
    codes,
    catalogue.map((e) => e.code),
  );
  for (const code of ["not_found", "invalid_input", "read_only", "last_full_admin", "grant_exceeds_own"])
    assert.ok(codes.includes(code), `${code} is listed`);
  assert.deepEqual(
    error["x-clubos-error-codes"],
    catalogue.map(({ code, status, description }) => ({ code, status, description })),
  );
  const last = error["x-clubos-error-codes"].find((e) => e.code === "last_full_admin");
  assert.equal(last?.status, 409);
  assert.match(last?.description ?? "", /full administrator/);
});

test("the document is valid OpenAPI 3.1 (checked against the specification's own schema)", async () => {
  const { doc } = await served();
  const validator = new Validator();
  const result = await validator.validate(doc as never);
  assert.equal(validator.version, "3.1");
  assert.deepEqual(result.errors ?? [], []);
  assert.equal(result.valid, true);
});
