import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import type { AppContext } from "../../src/app/context.ts";
import { buildServer } from "../../src/app/server.ts";
import { SIGNED_IN_MEMBER } from "../../src/core/access.ts";
import { defineAction } from "../../src/core/action.ts";
import {
  declareRoute,
  degradedOf,
  enforceDeclarations,
  type RouteListing,
  routeTable,
  schemaTable,
  validateDeclaration,
} from "../../src/http/routes.ts";
import { testConfig } from "../helpers/app.ts";

const fakeCtx = () => ({ config: testConfig().config }) as AppContext;

test("[G16] a route registered without a declaration refuses to boot", async () => {
  const app = Fastify();
  enforceDeclarations(app);
  assert.throws(() => app.get("/sneaky", async () => "hi"), /without a declaration/);
  await app.close();
});

test("[G16] a declaration missing its degraded behaviour, capability or load class refuses to boot", () => {
  const base = {
    method: "POST",
    url: "/x",
    capability: "members:write",
    loadClass: "admin",
    response: "json",
    summary: "x",
    degraded: { readOnly: "refused", databaseDown: "503", frozenBy: "none" },
    handler: async () => null,
  } as const;
  assert.doesNotThrow(() => validateDeclaration({ ...base }));
  for (const missing of ["capability", "loadClass", "degraded"] as const) {
    const decl: Record<string, unknown> = { ...base };
    delete decl[missing];
    assert.throws(() => validateDeclaration(decl), /not fully declared/, `without ${missing}`);
  }
  assert.throws(
    () => validateDeclaration({ ...base, capability: "members:fly" as never }),
    /not in the catalogue/,
  );
  assert.throws(
    () => validateDeclaration({ ...base, degraded: { ...base.degraded, readOnly: "serves" } }),
    /write route/,
  );
});

test("[G16] only a public GET route may answer from what it keeps, before its guards", () => {
  const read = {
    method: "GET",
    url: "/x",
    capability: "public",
    loadClass: "public",
    response: "html",
    summary: "x",
    degraded: { readOnly: "serves", databaseDown: "503", frozenBy: "none" },
    handler: async () => null,
    kept: async () => undefined,
  } as const;
  assert.doesNotThrow(() => validateDeclaration(read));
  assert.throws(
    () => validateDeclaration({ ...read, capability: "members:read" }),
    /only a public GET route/,
  );
  assert.throws(
    () =>
      validateDeclaration({
        ...read,
        method: "POST",
        degraded: { ...read.degraded, readOnly: "refused" },
      }),
    /only a public GET route/,
  );
  // Preview answers are never kept (R-5): every one carries its own headers and audit.
  assert.throws(() => validateDeclaration({ ...read, url: "/preview/x" }), /outside \/preview\//);
});

test("[G16] boot fails when any module adds an undeclared route", async () => {
  await assert.rejects(
    buildServer(fakeCtx(), { extraRoutes: [(app) => app.post("/undeclared", async () => "x")] }),
    /without a declaration/,
  );
});

test("[G03] every registered route declares a capability, load class and degraded behaviour", async () => {
  const app = await buildServer(fakeCtx(), {
    extraRoutes: [
      (a) =>
        declareRoute(a, {
          method: "GET",
          url: "/probe",
          capability: "public",
          loadClass: "public",
          response: "json",
          summary: "probe",
          degraded: { readOnly: "serves", databaseDown: "serves", frozenBy: "none" },
          schema: { response: { 200: { type: "object" } } },
          handler: async () => ({}),
        }),
    ],
  });
  const table = routeTable(app);
  const fastifyRoutes = app
    .printRoutes({ commonPrefix: false })
    .split("\n")
    .filter((l) => l.includes("("));
  assert.ok(table.length >= 10, "the table lists the app's routes");
  assert.ok(fastifyRoutes.length > 0);
  for (const r of table) {
    assert.ok(r.capability, `${r.method} ${r.url} capability`);
    assert.ok(r.loadClass, `${r.method} ${r.url} load class`);
    assert.ok(
      r.degraded.readOnly && r.degraded.databaseDown && r.degraded.frozenBy,
      `${r.method} ${r.url} degraded`,
    );
  }
  await app.close();
});

test("[G16] boot refuses a write route that says 'authenticated' without an action naming a policy", () => {
  const write = {
    method: "POST",
    url: "/x",
    capability: "authenticated",
    loadClass: "member",
    response: "json",
    summary: "x",
    degraded: { readOnly: "refused", databaseDown: "503", frozenBy: "none" },
    handler: async () => null,
  } as const;
  assert.throws(
    () => validateDeclaration(write),
    /'authenticated' only through an action that names a policy/,
  );
  const withPolicy = defineAction({
    name: "probeWithPolicy",
    access: { policy: SIGNED_IN_MEMBER },
    effect: "write",
    run: async () => ({ result: null, audit: { action: "probe", subjectType: "probe", subjectId: "1" } }),
  });
  const { capability: _c, degraded: _d, ...rest } = write;
  assert.doesNotThrow(() => validateDeclaration({ ...rest, action: withPolicy }));
});

test("[G16] a route takes its access and degraded behaviour from its action; restating them differently fails", () => {
  const adminChange = defineAction({
    name: "probeAdminChange",
    access: { capability: "members:write" },
    effect: "admin",
    run: async () => ({ result: null, audit: { action: "probe", subjectType: "probe", subjectId: "1" } }),
  });
  const base = {
    method: "POST",
    url: "/x",
    action: adminChange,
    loadClass: "admin",
    response: "json",
    summary: "x",
    handler: async () => null,
  } as const;
  assert.doesNotThrow(() => validateDeclaration(base));
  assert.throws(
    () =>
      validateDeclaration({
        ...base,
        degraded: { readOnly: "refused", databaseDown: "503", frozenBy: "none" },
      }),
    /contradicts its action's effect \(admin\)/,
  );
  assert.throws(
    () => validateDeclaration({ ...base, capability: "members:read" }),
    /takes its capability from the action/,
  );
  assert.deepEqual(degradedOf("admin"), {
    readOnly: "refused",
    databaseDown: "503",
    frozenBy: "admin_freeze",
  });
  assert.deepEqual(degradedOf("recovery"), { readOnly: "allowed", databaseDown: "503", frozenBy: "none" });
});

/** Runs a clubos verb that needs no database, collecting what it prints. */
async function clubos(...argv: string[]) {
  const lines: string[] = [];
  const env: CliEnv = {
    io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: () => {} },
    config: testConfig().config,
    withRuntime: () => Promise.reject(new Error("this verb must not need the database")),
  };
  const code = await runCli(argv, env);
  return { code, output: lines.join("\n") };
}

test("[G16] `clubos routes` shows each route's capability, policy, action and effect", async () => {
  const json = await clubos("routes", "--json");
  assert.equal(json.code, 0, json.output);
  const routes = JSON.parse(json.output) as RouteListing[];
  const patch = routes.find((r) => r.method === "PATCH" && r.url === "/api/v1/events/:id");
  assert.ok(patch, "the event API is listed");
  assert.equal(patch.policy, "events.manages-event");
  assert.equal(patch.action, "updateEvent");
  assert.equal(patch.effect, "admin");
  assert.equal(patch.capability, "events:register");
  const logout = routes.find((r) => r.method === "POST" && r.url === "/logout");
  assert.equal(logout?.action, "endOwnSession");
  assert.equal(logout?.policy, "signed-in-member");
  const login = routes.find((r) => r.method === "POST" && r.url === "/login");
  assert.equal(login?.action, undefined, "the way in runs no action of its own");
  assert.equal(login?.capability, "public");

  const text = await clubos("routes");
  assert.equal(text.code, 0, text.output);
  const line = text.output.split("\n").find((l) => /^PATCH\s+\/api\/v1\/events\/:id\s/.test(l));
  assert.ok(line, text.output);
  assert.match(line, /policy:events\.manages-event/);
  assert.match(line, /action:updateEvent effect:admin/);
  assert.match(line, /frozen-by:admin_freeze/);
});

test("[G02] every text a route reads is bounded and storable: a pattern or format on each string, a length on each", async () => {
  const app = await buildServer(fakeCtx());
  const loose: string[] = [];
  const walk = (node: unknown, where: string): void => {
    if (!node || typeof node !== "object") return;
    const s = node as Record<string, unknown>;
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.includes("string") && s.enum === undefined && s.const === undefined && s.format === undefined) {
      if (typeof s.pattern !== "string") loose.push(`${where}: no pattern`);
      if (typeof s.maxLength !== "number") loose.push(`${where}: no maxLength`);
    }
    for (const [key, child] of Object.entries(s)) {
      if (Array.isArray(child)) {
        for (const [i, c] of child.entries()) walk(c, `${where}.${key}[${i}]`);
      } else if (child && typeof child === "object") walk(child, `${where}.${key}`);
    }
  };
  for (const [route, schema] of schemaTable(app)) {
    for (const part of ["params", "querystring", "body", "headers"] as const)
      walk(schema?.[part], `${route} ${part}`);
  }
  await app.close();
  assert.deepEqual(loose, []);
});
