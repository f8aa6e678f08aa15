import assert from "node:assert/strict";
import { test } from "node:test";
import type { AppContext } from "../../src/app/context.ts";
import { buildServer } from "../../src/app/server.ts";
import { routeTable } from "../../src/http/routes.ts";
import { testConfig } from "../helpers/app.ts";

test("the OpenAPI document lists every JSON API route with its capability, degraded behaviour and schemas", async () => {
  const ctx = { config: testConfig().config, deploy: null, modes: { current: () => null } };
  const app = await buildServer(ctx as unknown as AppContext);
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const res = await fetch(`${base}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    assert.equal(doc.openapi, "3.1.0");
    const api = routeTable(app).filter((r) => r.url.startsWith("/api/"));
    assert.ok(api.length >= 10);
    for (const route of api) {
      const op = doc.paths[route.url.replace(/:([a-zA-Z]+)/g, "{$1}")]?.[route.method.toLowerCase()];
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
  } finally {
    await app.close();
  }
});
