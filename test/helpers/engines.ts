import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { connectPgliteMemory, connectPostgres, type Database } from "../../src/core/db/connect.ts";
import { migrate } from "../../src/core/db/migrate.ts";

/** The two engines every integration test runs on. */
export type Engine = "pglite" | "postgres";

/** The PostgreSQL server tests use; each test database is created on it and dropped after. */
export const SERVER_URL =
  process.env.CLUBOS_TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

/** In CI every suite is required: a missing PostgreSQL or browser fails instead of skipping. */
export const REQUIRE_ALL = process.env.CLUBOS_REQUIRE_ALL_SUITES === "1";

let serverCheck: string | null | undefined;

/** Null when the server answers, else why not. Asked once per test file, synchronously, so that
 * suites can be declared synchronously (node:test attaches hooks to the wrong suite after an await). */
export function postgresUnavailable(): string | null {
  if (serverCheck !== undefined) return serverCheck;
  const probe = `const pg=require("pg");const c=new pg.Client({connectionString:process.argv[1],connectionTimeoutMillis:3000});
c.connect().then(()=>c.query("SELECT 1")).then(()=>{process.exit(0)},e=>{console.error(e.message);process.exit(1)})`;
  const result = spawnSync(process.execPath, ["-e", probe, SERVER_URL], {
    encoding: "utf8",
    timeout: 10_000,
  });
  serverCheck =
    result.status === 0
      ? null
      : `PostgreSQL at ${SERVER_URL.replace(/\/\/[^@]*@/, "//")} does not answer (${(result.stderr || "timeout").trim()})`;
  return serverCheck;
}

/** A fresh, migrated database of its own for one test or suite; drop() removes it. */
export interface TestDatabase {
  database: Database;
  url?: string;
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database on the test server and returns its URL. */
export async function createServerDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `clubos_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Opens a fresh database on the engine, migrated unless told otherwise. */
export async function openTestDatabase(
  engine: Engine,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  let result: TestDatabase;
  if (engine === "pglite") {
    const database = await connectPgliteMemory();
    result = { database, drop: () => database.close() };
  } else {
    const server = await createServerDatabase();
    const database = connectPostgres(server.url);
    result = {
      database,
      url: server.url,
      drop: async () => {
        await database.close();
        await server.drop();
      },
    };
  }
  if (options.migrate !== false) await migrate(result.database);
  return result;
}

/** Declares the suite once per engine. On PostgreSQL, an unreachable server skips the suite with
 * the reason, except in CI (CLUBOS_REQUIRE_ALL_SUITES=1), where it fails. */
export function forEachEngine(title: string, body: (engine: Engine) => void): void {
  for (const engine of ["pglite", "postgres"] as const) {
    const why = engine === "postgres" ? postgresUnavailable() : null;
    if (why && REQUIRE_ALL) {
      describe(`${title} (${engine})`, () => {
        test("required suite", () => {
          throw new Error(`Required suite cannot run: ${why}`);
        });
      });
      continue;
    }
    describe(`${title} (${engine})`, { skip: why ?? false }, () => body(engine));
  }
}

/** A database per suite: opened before its tests, dropped after. */
export function suiteDatabase(engine: Engine, options: { migrate?: boolean } = {}): { get(): TestDatabase } {
  let current: TestDatabase | undefined;
  before(async () => {
    current = await openTestDatabase(engine, options);
  });
  after(async () => {
    await current?.drop();
  });
  return {
    get() {
      if (!current) throw new Error("The suite database is not open yet.");
      return current;
    },
  };
}

/** Declares a suite that needs the PostgreSQL server (real concurrency); same skip rules as forEachEngine. */
export function postgresOnly(title: string, body: () => void): void {
  const why = postgresUnavailable();
  if (why && REQUIRE_ALL) {
    describe(`${title} (postgres)`, () => {
      test("required suite", () => {
        throw new Error(`Required suite cannot run: ${why}`);
      });
    });
    return;
  }
  describe(`${title} (postgres)`, { skip: why ?? false }, body);
}
