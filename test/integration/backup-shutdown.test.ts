import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { openRuntime } from "../../src/app/runtime.ts";
import { startServer } from "../../src/app/serve.ts";
import { listBackups } from "../../src/core/backup/index.ts";
import { readJobProgress } from "../../src/core/job-progress.ts";
import { createMember, testConfig } from "../helpers/app.ts";
import { seedClub } from "../helpers/backup.ts";
import { forEachEngine, openTestDatabase } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";

/** A loopback port nobody listens on now (PORT must be a positive number). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

forEachEngine("stopping the server while a backup started from the page runs", (engine) => {
  test("[G01] serve's stop (SIGTERM) waits for the backup: it finishes, is recorded and listed, and no partial folder is left", async () => {
    const testDb = await openTestDatabase(engine, { migrate: false });
    let stop: (() => Promise<void>) | undefined;
    try {
      const { config, dirs } = testConfig({ PORT: String(await freePort()) });
      fs.mkdirSync(dirs.data, { recursive: true }); // the embedded engine's control socket lives there
      const runtime = await openRuntime(config, { migrations: "apply", database: testDb.database });
      await seedClub(runtime);
      const server = await startServer(config, { runtime });
      stop = () => server.stop();
      const operator = await createMember(runtime, ["member", "operator"]);
      const client = new Client(server.url);
      assert.equal((await client.login(operator.email, operator.password)).status, 303);
      const started = await client.postForm(
        "/admin/system/backups/run",
        { job: "backup" },
        "/admin/system/backups",
      );
      assert.equal(started.status, 303);
      // What `clubos serve` does on SIGTERM, at once: the backup is still running.
      stop = undefined;
      await server.stop();

      const [run] = await readJobProgress(testDb.database.db, ["backup"]);
      assert.equal(run?.triggeredBy, `member:${operator.memberId}`, "the page's backup ran");
      assert.ok(run?.finishedAt, "the backup had finished when the server was stopped");
      assert.equal(run.outcome, "ok", run.detail ?? "");
      assert.equal(listBackups(dirs.backup).length, 1, "it is a complete, listed backup");
      const partial = fs.readdirSync(dirs.backup).filter((name) => name.endsWith(".partial"));
      assert.deepEqual(partial, [], "no half-written backup folder is left");
      const recorded = await testDb.database.db
        .selectFrom("audit_log")
        .select("subject_id")
        .where("action", "=", "backup.created")
        .execute();
      assert.equal(recorded.length, 1, "and recorded in the audit log");
    } finally {
      await stop?.();
      await testDb.drop();
    }
  });
});
