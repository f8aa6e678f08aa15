import { Kysely, PostgresDialect } from "kysely";
import type pg from "pg";
import type { DB } from "../db/schema.ts";
import type { CheckReader } from "../invariants.ts";

/** One statement with parameters on a snapshot's own connection; resolves with its rows. */
export type SnapshotStatement = (text: string, params: readonly unknown[]) => Promise<unknown[]>;

/** A Kysely over a snapshot's one connection (the PostgreSQL exporter, the PGlite worker), so the
 * backup's invariant checks read the data being backed up, not the live database. Statements run one
 * at a time, as on any single connection; the snapshot is read-only, so a write fails. */
export function snapshotReader(run: SnapshotStatement): CheckReader {
  let tail: Promise<unknown> = Promise.resolve();
  const serial = (text: string, params: readonly unknown[]) => {
    const result = tail.then(() => run(text, params));
    tail = result.catch(() => {});
    return result;
  };
  const pool = {
    async connect() {
      return {
        async query(text: string, params: readonly unknown[] = []) {
          const rows = await serial(text, params);
          const command = text.trimStart().split(/\s+/, 1)[0]?.toUpperCase() ?? "";
          return { command, rowCount: rows.length, rows };
        },
        release() {},
      };
    },
    async end() {},
  };
  // Kysely's Postgres dialect needs only connect() and end(); the cast bridges the nominal pg.Pool type.
  return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) }) };
}
