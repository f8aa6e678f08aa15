import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openRuntime, type Runtime } from "../../src/app/runtime.ts";
import { buildServer } from "../../src/app/server.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { NO_DB } from "../../src/http/declarations.ts";
import { declareRoute, frontOf } from "../../src/http/routes.ts";
import { testConfig } from "../helpers/app.ts";
import { openTestDatabase, type TestDatabase } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { makePage } from "../helpers/pages.ts";

/* An expected refusal (read-only mode, a freeze) is information, logged once at info with its code and
 * no stack; a fault the server did not mean is an error with its trace. */

let testDb: TestDatabase;
let runtime: Runtime;
const lines: Array<Record<string, unknown>> = [];
before(async () => {
  testDb = await openTestDatabase("pglite", { migrate: false });
  runtime = await openRuntime(testConfig().config, { migrations: "apply", database: testDb.database });
  await runtime.modes.start();
});
after(async () => {
  await runtime.close();
  await testDb.drop();
});

test("[G10] a refusal in read-only mode is logged at info with its code and no stack; a fault at error with its stack", async () => {
  const app = await buildServer(runtime, {
    logger: true,
    logStream: { write: (line) => lines.push(JSON.parse(line)) },
    extraRoutes: [
      (a) =>
        declareRoute(a, {
          method: "GET",
          url: "/__fault",
          capability: "public",
          loadClass: "public",
          response: "json",
          degraded: NO_DB,
          summary: "a route with a bug",
          schema: { response: { 200: { type: "object" } } },
          handler: async () => {
            throw new TypeError("a bug");
          },
        }),
    ],
  });
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    await runAction(runtime.actionEnv(operatorActor("alice")), setMode, {
      mode: "read-only",
      reason: "drill",
    });
    await runtime.modes.refresh();
    const res = await fetch(`${base}/api/v1/members`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Ann", email: "ann@example.org" }),
    });
    assert.equal(res.status, 503);
    const refused = lines.filter((l) => l.code === "read_only");
    assert.equal(refused.length, 1, "one line for the one refusal");
    assert.equal(refused[0]!.level, 30, "info");
    assert.equal(JSON.stringify(refused[0]).includes("stack"), false, "no stack for a refusal");
    assert.equal(lines.filter((l) => (l.level as number) >= 50).length, 0, "nothing logged as an error");
    const fault = await fetch(`${base}/__fault`);
    assert.equal(fault.status, 500);
    assert.doesNotMatch(await fault.text(), /a bug|TypeError/, "the visitor sees no detail");
    const logged = lines.filter((l) => (l.level as number) >= 50);
    assert.equal(logged.length, 1);
    assert.match(JSON.stringify(logged[0]), /TypeError: a bug.*\\n\s+at /, "the operator sees the stack");
  } finally {
    await runAction(runtime.actionEnv(operatorActor("alice")), setMode, { mode: "normal", reason: "done" });
    await app.close();
  }
});

test("each request is one line at info, whichever path answered it: the router's or the front's kept answers", async () => {
  const seen: Array<Record<string, unknown>> = [];
  const app = await buildServer(runtime, {
    logger: true,
    logStream: { write: (line) => seen.push(JSON.parse(line)) },
  });
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const page = await makePage(runtime.database, {
      blocks: [{ type: "text", data: { markdown: "Logged" } }],
    });
    const path = `/p/${page.slug}`;
    assert.equal((await fetch(`${base}${path}`)).status, 200, "rendered by the router, and kept");
    const front = frontOf(app).answered;
    assert.equal((await fetch(`${base}${path}`)).status, 200);
    assert.equal(frontOf(app).answered, front + 1, "the second from the front");
    assert.equal((await fetch(`${base}/p/no-such-page`)).status, 404);
    const completed = seen.filter((l) => l.msg === "request completed");
    const line = (status: number, url: string) =>
      completed.filter(
        (l) =>
          (l.res as { statusCode: number }).statusCode === status && (l.req as { url: string }).url === url,
      );
    assert.equal(line(200, path).length, 2, "the router's answer and the front's, one line each");
    assert.equal(line(404, "/p/no-such-page").length, 1);
    for (const l of completed) {
      assert.equal(l.level, 30);
      assert.equal(typeof l.reqId, "string");
      assert.equal(typeof l.responseTime, "number");
    }
    assert.equal(seen.filter((l) => l.msg === "incoming request").length, 0, "one line per request, not two");
  } finally {
    await app.close();
  }
});
