import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { packageVersion } from "../../src/app/build-info.ts";
import { openRuntime } from "../../src/app/runtime.ts";
import { startServer } from "../../src/app/serve.ts";
import { createMember, startTestApp, suiteApp, testConfig } from "../helpers/app.ts";
import { forEachEngine, openTestDatabase, SERVER_URL } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";

/** A port nobody listens on right now (startServer needs a real one; PORT=0 is not accepted). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const readyz = async (baseUrl: string) => {
  const res = await fetch(`${baseUrl}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; checks: Record<string, string> },
  };
};

forEachEngine("health, readiness, metrics and version", (engine) => {
  const t = suiteApp(engine);

  test("[G17] /healthz answers 200 and /readyz 200 with its checks when ready", async () => {
    const health = await fetch(`${t.get().baseUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "alive" });
    const ready = await readyz(t.get().baseUrl);
    assert.equal(ready.status, 200);
    const { degraded, ...rest } = ready.body as typeof ready.body & {
      degraded?: { mail: { status: string } };
    };
    assert.deepEqual(rest, {
      status: "ready",
      checks: { database: "ok", migrations: "current", mode: "normal" },
    });
    assert.equal(degraded?.mail.status, "not configured", "mail is reported, not required (G11)");
  });

  test("[G17] /readyz answers 503 while the mode state cannot be read", async () => {
    const { runtime, baseUrl } = t.get();
    await sql`ALTER TABLE system_state RENAME TO system_state_gone`.execute(runtime.database.db);
    try {
      const ready = await readyz(baseUrl);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, "not ready");
      assert.equal(ready.body.checks.mode, "unreadable");
      assert.equal((await fetch(`${baseUrl}/healthz`)).status, 200, "still alive");
    } finally {
      await sql`ALTER TABLE system_state_gone RENAME TO system_state`.execute(runtime.database.db);
      await runtime.modes.refresh();
    }
    assert.equal((await readyz(baseUrl)).status, 200, "ready again once the state is back");
  });

  test("[G17] /readyz answers 503 when the database is unreachable; /healthz still 200", async () => {
    const own = await startTestApp(engine);
    try {
      assert.equal((await readyz(own.baseUrl)).status, 200);
      if (engine === "pglite") await own.runtime.database.close();
      else {
        // The database disappears under the running pool, as when a server is lost.
        const admin = new pg.Client({ connectionString: SERVER_URL });
        await admin.connect();
        await admin.query(`DROP DATABASE ${new URL(own.testDb.url!).pathname.slice(1)} WITH (FORCE)`);
        await admin.end();
      }
      const ready = await readyz(own.baseUrl);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.database, "unreachable");
      assert.equal((await fetch(`${own.baseUrl}/healthz`)).status, 200);
    } finally {
      await own.close().catch(() => {}); // the database is already gone
    }
  });

  test("[G17] /metrics answers loopback callers with Prometheus text, and nobody else", async () => {
    const { runtime, baseUrl, app } = t.get();
    await createMember(runtime, ["member"]); // runs actions, so the action counter has samples
    await fetch(`${baseUrl}/`);
    const res = await fetch(`${baseUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^# TYPE clubos_http_responses_total counter$/m);
    assert.match(text, /^clubos_http_responses_total\{load_class="public",status="200"\} [1-9]\d*$/m);
    assert.match(text, /^# TYPE clubos_actions_total counter$/m);
    assert.match(text, /^clubos_actions_total\{action="createMemberRecord",outcome="committed"\} [1-9]\d*$/m);
    const remote = await app.inject({ method: "GET", url: "/metrics", remoteAddress: "203.0.113.9" });
    assert.equal(remote.statusCode, 404, "an anonymous caller from elsewhere sees nothing");
  });

  test("[G14] /api/v1/system/version needs admin:access and names the deploy recorded at startServer", async () => {
    assert.equal((await fetch(`${t.get().baseUrl}/api/v1/system/version`)).status, 401);
    const testDb = await openTestDatabase(engine, { migrate: false });
    const { config, dirs } = testConfig({
      PORT: String(await freePort()),
      CLUBOS_CHANGE_CLASS: "high-risk",
      CLUBOS_GIT_COMMIT: "0123abc",
    });
    fs.mkdirSync(dirs.data, { recursive: true }); // the embedded engine's control socket lives there
    const runtime = await openRuntime(config, { migrations: "apply", database: testDb.database });
    const server = await startServer(config, { runtime });
    try {
      const admin = await createMember(runtime, ["member", "full_admin"]);
      const plain = await createMember(runtime, ["member"]);
      const client = new Client(server.url);
      assert.equal((await client.login(plain.email, plain.password)).status, 303);
      assert.equal((await client.get("/api/v1/system/version")).status, 403);
      const adminClient = new Client(server.url);
      assert.equal((await adminClient.login(admin.email, admin.password)).status, 303);
      const res = await adminClient.get("/api/v1/system/version");
      assert.equal(res.status, 200);
      const body = JSON.parse(res.text);
      assert.equal(body.version, packageVersion());
      assert.equal(body.changeClass, "high-risk");
      assert.equal(body.gitCommit, "0123abc");
      const db = runtime.database.db;
      const deploy = await db
        .selectFrom("deploys")
        .selectAll()
        .where("id", "=", body.deployId)
        .executeTakeFirst();
      assert.ok(deploy, "the deploy id is a row in deploys");
      assert.equal(deploy.change_class, "high-risk");
      assert.equal(deploy.process_kind, "serve");
      const entry = await db
        .selectFrom("audit_log")
        .selectAll()
        .where("action", "=", "deploy.started")
        .where("subject_id", "=", body.deployId)
        .executeTakeFirst();
      assert.ok(entry, "the deploy has its deploy.started audit entry");
      assert.equal(entry.actor_id, "system:server");
    } finally {
      await server.stop();
      await testDb.drop();
    }
  });
});
