import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { routeTable } from "../../src/http/routes.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { loggedIn, sessionCookie } from "../helpers/identity.ts";

const PRIVATE = "private, no-store";

forEachEngine("security and cache headers", (engine) => {
  const t = suiteApp(engine);
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(t.get().baseUrl + path, { headers, redirect: "manual" });

  test("every response carries the security headers and today's content security policy", async () => {
    for (const path of ["/", "/api/v1/members", "/no-such-page", "/healthz"]) {
      const res = await get(path);
      const csp = (res.headers.get("content-security-policy") ?? "").split(";").map((d) => d.trim());
      assert.deepEqual(
        csp,
        [
          "default-src 'self'",
          "style-src 'self' 'unsafe-inline'",
          "script-src 'self'",
          "img-src 'self' data:",
          "frame-ancestors 'none'",
          "form-action 'self'",
        ],
        path,
      );
      assert.equal(res.headers.get("x-frame-options"), "DENY", path);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(res.headers.get("referrer-policy"), "same-origin", path);
      assert.equal(res.headers.get("strict-transport-security"), null, `${path}: plain http, no HSTS`);
      assert.equal(res.headers.get("x-powered-by"), null);
    }
  });

  test("[G08] every route that is not public answers private, no-store, refusals included", async () => {
    const routes = routeTable(t.get().app).filter((r) => r.capability !== "public");
    assert.ok(routes.length > 20, "the table lists the signed-in routes");
    for (const route of routes) {
      const path = route.url.replace(/:[a-zA-Z]+/g, randomUUID());
      const res = await fetch(t.get().baseUrl + path, { method: route.method, redirect: "manual" });
      assert.ok(res.status >= 400, `${route.method} ${route.url} refuses an anonymous caller`);
      assert.equal(res.headers.get("cache-control"), PRIVATE, `${route.method} ${route.url}`);
    }
  });

  test("[G08] signed-in pages and API answers with personal data are never kept by a shared cache", async () => {
    const admin = await loggedIn(t, ["member", "full_admin"]);
    for (const path of ["/members/me", "/directory", "/admin/members", "/admin/members/export.csv", "/"]) {
      const res = await admin.client.get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("cache-control"), PRIVATE, path);
    }
    const api = await tokenMember(t.get().runtime, ["member", "full_admin"]);
    const res = await get("/api/v1/members", { authorization: `Bearer ${api.token}` });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), PRIVATE);
  });

  test("[G08] credentials make any answer private, valid or not, even on public routes and errors", async () => {
    const member = await tokenMember(t.get().runtime);
    const credentials = [
      { authorization: `Bearer ${member.token}` },
      { authorization: "Bearer not-a-real-token" },
      sessionCookie("not-a-real-session"),
      { cookie: `theme=dark; ${sessionCookie("x").cookie}` },
    ];
    for (const headers of credentials) {
      for (const path of ["/", "/events", "/events.ics", "/login", "/no-such-page"]) {
        const res = await get(path, headers);
        assert.equal(res.headers.get("cache-control"), PRIVATE, `${path} with ${Object.keys(headers)}`);
      }
    }
  });

  test("public anonymous answers keep their own caching", async () => {
    for (const path of ["/", "/events", "/login", "/no-such-page"]) {
      assert.equal((await get(path)).headers.get("cache-control"), null, path);
    }
    assert.equal((await get("/", { cookie: "theme=dark" })).headers.get("cache-control"), null, "not ours");
    assert.equal((await get("/events.ics")).headers.get("cache-control"), "public, max-age=300");
  });
});
