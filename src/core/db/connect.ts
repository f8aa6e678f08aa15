import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { PGlitePool } from "./pglite-pool.ts";
import type { DB } from "./schema.ts";

// int8 (counts, sequence numbers) as JS numbers on both engines; PGlite already does this.
pg.types.setTypeParser(20, (value) => Number(value));

/** Which engine holds the data: embedded PGlite or a PostgreSQL server. */
export type DatabaseKind = "pglite" | "postgres";

/** What both engines offer: a Kysely handle plus the extras the core needs. */
interface DatabaseBase {
  kind: DatabaseKind;
  db: Kysely<DB>;
  /** Subscribes to NOTIFY on a channel; returns an unsubscribe function. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A PostgreSQL server; url lets a tool open connections of its own (a backup's snapshot readers). */
export interface PostgresDatabase extends DatabaseBase {
  kind: "postgres";
  url: string;
  /** One statement on a pooled connection, prepared on each connection once under its name, rows as
   * arrays: for the one read every request makes (the content versions), where Kysely's compiling and
   * the server's planning would be most of its cost. */
  preparedRows(name: string, text: string): Promise<unknown[][]>;
}

/** The embedded engine; pglite is its one connection, for what Kysely cannot pass (COPY to a blob, a dump
 * of the data folder). Use it only while holding the connection (db.connection()), never beside it. */
export interface PgliteDatabase extends DatabaseBase {
  kind: "pglite";
  pglite: PGlite;
  /** How many times the one connection has been lent (every statement, transaction and direct use of
   * pglite runs while holding it): while this is unchanged, nothing has run on the database, as this
   * process is its only user (the data lock keeps every other one out). */
  lendings(): number;
}

/** The open database, on either engine. */
export type Database = PostgresDatabase | PgliteDatabase;

/** Connects to a PostgreSQL server (pooled). */
export function connectPostgres(url: string, poolSize = 10, idleTimeoutMillis = 10_000): PostgresDatabase {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis });
  pool.on("error", () => {
    // An idle client died (server restart); the pool replaces it and readiness reports the outage.
  });
  // A client in use (inside a transaction) has no error listener from the pool: when its connection
  // drops between two queries (PostgreSQL restarted, the backend terminated), the 'error' event would
  // be uncaught and take the whole server down. Its next query fails instead, the transaction is rolled
  // back by the server, and the request answers 503 database_unavailable.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: "postgres",
    url,
    db,
    async preparedRows(name, text) {
      const result = await pool.query<unknown[]>({ name, text, rowMode: "array" });
      return result.rows;
    },
    async listen(channel, onMessage) {
      const client = new pg.Client({ connectionString: url });
      client.on("error", () => {});
      await client.connect();
      client.on("notification", (msg) => {
        if (msg.channel === channel) onMessage(msg.payload ?? "");
      });
      await client.query(`LISTEN ${quoteIdent(channel)}`);
      return async () => {
        await client.end().catch(() => {});
      };
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Extensions the migrations create (PostgreSQL has them in contrib; PGlite loads them on demand). */
const PGLITE_EXTENSIONS = { pg_trgm };

/** Opens the embedded PGlite database in dataDir/pgdata (created on first use). */
export async function connectPglite(dataDir: string): Promise<PgliteDatabase> {
  const dir = path.join(dataDir, "pgdata");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pglite = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS });
  return wrapPglite(pglite);
}

/** An in-memory PGlite, for tests and tools that need a throwaway database. */
export async function connectPgliteMemory(): Promise<PgliteDatabase> {
  return wrapPglite(await PGlite.create({ extensions: PGLITE_EXTENSIONS }));
}

function wrapPglite(pglite: PGlite): PgliteDatabase {
  const pool = new PGlitePool(pglite);
  // Kysely's Postgres dialect only needs connect() and end(); the cast bridges the nominal pg.Pool type.
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
  return {
    kind: "pglite",
    pglite,
    db,
    lendings: () => pool.lendings,
    async listen(channel, onMessage) {
      return pglite.listen(channel, onMessage);
    },
    async close() {
      await db.destroy();
      await pglite.close();
    },
  };
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Unsafe channel name: ${name}`);
  return `"${name}"`;
}
