import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import type { FastifyInstance } from "fastify";
import { type Config, loadConfig } from "../../src/app/config.ts";
import { openRuntime, type Runtime } from "../../src/app/runtime.ts";
import { buildServer } from "../../src/app/server.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import type { RoleKey } from "../../src/core/capabilities.ts";
import { connectPostgres } from "../../src/core/db/connect.ts";
import { createAccount, grantRole } from "../../src/domains/identity/identity.actions.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { type Engine, openTestDatabase, type TestDatabase } from "./engines.ts";

/** A database on a server the test made itself (a throwaway cluster): closed, not dropped, after. */
async function serverDatabaseAt(url: string): Promise<TestDatabase> {
  const database = connectPostgres(url);
  return { database, url, drop: () => database.close() };
}

/** A running ClubOS on a fresh database, reached over real HTTP. */
export interface TestApp {
  engine: Engine;
  runtime: Runtime;
  app: FastifyInstance;
  baseUrl: string;
  config: Config;
  testDb: TestDatabase;
  dirs: { data: string; backup: string };
  close(): Promise<void>;
}

/** A configuration with its own temporary data and backup folders. */
export function testConfig(overrides: Record<string, string> = {}): {
  config: Config;
  dirs: { data: string; backup: string };
} {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-test-"));
  const dirs = { data: path.join(root, "data"), backup: path.join(root, "backups") };
  const config = loadConfig({
    CLUBOS_DATA_DIR: dirs.data,
    CLUBOS_BACKUP_DIR: dirs.backup,
    CLUBOS_DEMO: "0",
    PORT: "3000",
    HOST: "127.0.0.1",
    CLUBOS_MODE_POLL_MS: "200",
    ...overrides,
  });
  return { config, dirs };
}

/** Starts ClubOS on the engine, listening on a free loopback port. */
export async function startTestApp(
  engine: Engine,
  overrides: Record<string, string> = {},
  options: { databaseUrl?: string } = {},
): Promise<TestApp> {
  const testDb = options.databaseUrl
    ? await serverDatabaseAt(options.databaseUrl)
    : await openTestDatabase(engine, { migrate: false });
  const { config, dirs } = testConfig(overrides);
  const runtime = await openRuntime(config, { migrations: "apply", database: testDb.database });
  await runtime.modes.start();
  const app = await buildServer(runtime);
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    engine,
    runtime,
    app,
    baseUrl: address,
    config,
    testDb,
    dirs,
    async close() {
      await app.close();
      await runtime.close();
      await testDb.drop();
    },
  };
}

/** Starts one app for the enclosing suite and closes it after. */
export function suiteApp(engine: Engine, overrides: Record<string, string> = {}): { get(): TestApp } {
  let current: TestApp | undefined;
  before(async () => {
    current = await startTestApp(engine, overrides);
  });
  after(async () => {
    await current?.close();
  });
  return {
    get() {
      if (!current) throw new Error("The suite app is not started yet.");
      return current;
    },
  };
}

let counter = 0;

/** Creates a member with a password and the given roles; returns their id, email and password. */
export async function createMember(
  runtime: Runtime,
  roles: RoleKey[] = ["member"],
  name = "Test Member",
): Promise<{ memberId: string; email: string; password: string }> {
  counter++;
  const email = `member${counter}-${Date.now()}@example.org`;
  const password = `correct horse battery ${counter}`;
  const env = runtime.actionEnv(systemActor("test"));
  const member = await runAction(env, createMemberRecord, { name: `${name} ${counter}`, email });
  await runAction(env, createAccount, { memberId: member.id, password });
  for (const role of roles)
    await runAction(env, grantRole, { memberId: member.id, roleKey: role, reason: "test" });
  return { memberId: member.id, email, password };
}

/** Two app instances on one PostgreSQL database (two servers of one club), started before the suite's
 * tests and closed after them: what one process changes, the other must see on its next request. */
export function twoAppsOnOneDatabase(): { a(): TestApp; b(): TestApp } {
  let a: TestApp | undefined;
  let b: TestApp | undefined;
  before(async () => {
    a = await startTestApp("postgres");
    b = await startTestApp("postgres", {}, { databaseUrl: a.testDb.url });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });
  const started = (app: TestApp | undefined) => {
    if (!app) throw new Error("the two apps start before the suite's tests");
    return app;
  };
  return { a: () => started(a), b: () => started(b) };
}
