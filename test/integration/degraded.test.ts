import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import pg from "pg";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { SWITCHES, type SwitchName } from "../../src/core/modes.ts";
import { setMode, setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { type RouteListing, routeTable } from "../../src/http/routes.ts";
import { startTestApp, type TestApp } from "../helpers/app.ts";
import { type Cluster, clusterUnavailable, makeCluster } from "../helpers/cluster.ts";
import { forEachEngine, postgresOnly, REQUIRE_ALL } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";

/* Every route does, when things are not normal, what its declaration says (D-1, G16): the declarations
 * are read from the route table, not restated here, so a route added tomorrow is covered too. */

/** A URL that reaches the route: ids that name nothing, a well-formed feed token. */
function concrete(route: RouteListing): string {
  return route.url
    .replace(/:token/g, "0".repeat(64))
    .replace(/:[a-zA-Z]+/g, "00000000-0000-4000-8000-000000000000");
}

/** Sends the route's method with no body (so no parser runs before the guards). */
async function call(baseUrl: string, route: RouteListing, headers: Record<string, string>) {
  const res = await fetch(baseUrl + concrete(route), { method: route.method, headers, redirect: "manual" });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = /ClubOS is (in read-only mode|under maintenance)/.test(text)
      ? "read_only"
      : /are frozen by an operator/.test(text)
        ? "frozen"
        : undefined;
  }
  return { status: res.status, code, retryAfter: res.headers.get("retry-after"), text };
}

const where = (r: RouteListing) => `${r.method} ${r.url}`;

async function normalAgain(runtime: Runtime): Promise<void> {
  const env = runtime.actionEnv(operatorActor("cleanup"));
  await runAction(env, setMode, { mode: "normal", reason: "test over" });
  for (const name of SWITCHES) await runAction(env, setSwitch, { name, on: false, reason: "test over" });
  await runtime.modes.refresh();
}

forEachEngine("declared degraded behaviour", (engine) => {
  let app: TestApp;
  let auth: Record<string, string>;
  before(async () => {
    app = await startTestApp(engine);
    const operator = await tokenMember(app.runtime, ["member", "full_admin", "operator"]);
    auth = { authorization: `Bearer ${operator.token}` };
  });
  after(() => app.close());
  afterEach(() => normalAgain(app.runtime));

  for (const mode of ["read-only", "maintenance"] as const) {
    test(`[G10][G16] in ${mode} mode every route does what it declares: refused writes 503, allowed and reads go on`, async () => {
      await runAction(app.runtime.actionEnv(operatorActor("alice")), setMode, { mode, reason: "drill" });
      await app.runtime.modes.refresh();
      const routes = routeTable(app.app);
      for (const route of routes) {
        const res = await call(app.baseUrl, route, auth);
        if (route.degraded.readOnly === "refused") {
          assert.equal(res.status, 503, `${where(route)} declares refused`);
          assert.equal(res.code, "read_only", where(route));
          assert.ok(res.retryAfter, `${where(route)} says when to retry`);
        } else {
          assert.notEqual(res.code, "read_only", `${where(route)} declares ${route.degraded.readOnly}`);
          assert.ok(res.status < 500 || res.status === 503, `${where(route)} answered ${res.status}`);
        }
      }
      assert.ok(
        routes.some((r) => r.degraded.readOnly === "allowed"),
        "the ways out exist",
      );
    });
  }

  for (const name of ["admin_freeze", "publish_freeze", "preview_off"] as SwitchName[]) {
    test(`[G10][G16] with ${name} on, exactly the routes that declare it are stopped`, async () => {
      await runAction(app.runtime.actionEnv(operatorActor("alice")), setSwitch, {
        name,
        on: true,
        reason: "drill",
      });
      await app.runtime.modes.refresh();
      for (const route of routeTable(app.app)) {
        const res = await call(app.baseUrl, route, auth);
        const declared = route.degraded.frozenBy === name;
        if (name === "preview_off") {
          if (declared) assert.equal(res.status, 404, `${where(route)} is a preview`);
          continue;
        }
        if (declared && route.writes) {
          assert.equal(res.status, 503, `${where(route)} declares ${name}`);
          assert.equal(res.code, "frozen", where(route));
        } else {
          assert.notEqual(res.code, "frozen", `${where(route)} does not declare ${name}`);
        }
      }
    });
  }
});

const noCluster = clusterUnavailable();
postgresOnly("a database outage", () => {
  if (noCluster) {
    test("required: a throwaway PostgreSQL cluster", { skip: REQUIRE_ALL ? false : noCluster }, () => {
      throw new Error(`A throwaway cluster cannot be made here: ${noCluster}`);
    });
    return;
  }
  let cluster: Cluster;
  let app: TestApp;
  let token: string;
  before(async () => {
    cluster = await makeCluster();
    cluster.start();
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query("CREATE DATABASE clubos");
    await admin.end();
    app = await startTestApp("postgres", {}, { databaseUrl: cluster.url("clubos") });
    token = (await tokenMember(app.runtime, ["member", "full_admin", "operator"])).token;
  });
  after(async () => {
    await app?.close().catch(() => {});
    cluster?.destroy();
  });

  test("[G10][G16] with the server down, every route that needs the database answers 503 with Retry-After, whatever credentials come", async () => {
    cluster.stop("immediate");
    // The server learns of the outage within its mode poll (CLUBOS_MODE_POLL_MS); readiness says so.
    for (let i = 0; i < 100 && (await fetch(`${app.baseUrl}/readyz`)).status !== 503; i++)
      await new Promise((r) => setTimeout(r, 100));
    const credentials: Array<[string, Record<string, string>]> = [
      ["none", {}],
      ["a valid API token", { authorization: `Bearer ${token}` }],
      ["a session cookie", { cookie: "clubos_session=whatever-it-was" }],
    ];
    for (const route of routeTable(app.app)) {
      for (const [what, headers] of credentials) {
        const res = await call(app.baseUrl, route, headers);
        const label = `${where(route)} with ${what}`;
        if (route.degraded.databaseDown === "503") {
          assert.equal(res.status, 503, `${label}: ${res.status} ${res.code ?? res.text.slice(0, 120)}`);
          assert.ok(res.retryAfter, `${label} says when to retry`);
          assert.notEqual(res.code, "unauthenticated", label);
        } else {
          assert.ok(res.status !== 500, `${label} needs no database and answered 500`);
        }
      }
    }
  });
});
