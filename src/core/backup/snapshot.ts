import type { Readable } from "node:stream";
import type { Database } from "../db/connect.ts";
import type { CheckReader } from "../invariants.ts";
import { quoteIdent, SCHEMA_BOOKKEEPING, type SequenceEntry } from "./format.ts";

/* A consistent, read-only view of the whole database, taken once and read table by table: on
 * PostgreSQL an exported snapshot shared by several connections, on PGlite a copy of the data folder
 * opened in a worker thread. Both answer the same catalogue queries (below), so the manifest is the
 * same whichever engine made it. */

/** A table as the snapshot describes it. */
export interface SnapshotTable {
  name: string;
  columns: string[];
  orderBy: string[];
}

/** What the snapshot says about itself, read inside it. */
export interface SnapshotInfo {
  serverVersion: string;
  installationId: string | null;
  tables: SnapshotTable[];
  sequences: SequenceEntry[];
  migrations: Array<{ name: string; checksum: string }>;
  functions: Array<{ name: string; checksum: string }>;
  chainHead: { seq: number; chainHash: string } | null;
}

/** An open snapshot: describe it, query it, stream a table's COPY text on one of its lanes, close it. */
export interface Snapshot {
  /** How many tables can be read at once. */
  lanes: number;
  info: SnapshotInfo;
  /** The snapshot as the invariant checks read it (read-only; one statement at a time). */
  reader: CheckReader;
  copyOut(table: SnapshotTable, lane: number): Promise<Readable>;
  close(): Promise<void>;
}

/** Runs one catalogue query in the snapshot. */
export type SnapshotQuery = <R>(text: string) => Promise<R[]>;

const bookkeeping = SCHEMA_BOOKKEEPING.map((t) => `'${t}'`).join(", ");

// Base tables of schema public (partitions come with their parent), generated columns left out
// (COPY FROM cannot write them), ordered by the primary key, or by every column when there is none.
const TABLES_SQL = `
  SELECT c.relname AS name,
    (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS columns,
    (SELECT json_agg(a.attname ORDER BY k.ord) FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND c.relname NOT IN (${bookkeeping})
  ORDER BY c.relname`;

const SEQUENCES_SQL = `
  SELECT sequencename AS name, last_value, start_value FROM pg_sequences
  WHERE schemaname = 'public' ORDER BY sequencename`;

const exists = (table: string) => `to_regclass('public.${table}') IS NOT NULL`;

/** Reads the snapshot's description with its own query function. */
export async function describeSnapshot(query: SnapshotQuery): Promise<SnapshotInfo> {
  const [version] = await query<{ server_version: string }>("SHOW server_version");
  const tables = (
    await query<{ name: string; columns: string[] | null; pk: string[] | null }>(TABLES_SQL)
  ).map((t) => ({ name: t.name, columns: t.columns ?? [], orderBy: t.pk ?? t.columns ?? [] }));
  const sequences = (
    await query<{ name: string; last_value: number | string | null; start_value: number | string }>(
      SEQUENCES_SQL,
    )
  ).map((s) => ({
    name: s.name,
    lastValue: Number(s.last_value ?? s.start_value),
    isCalled: s.last_value !== null,
  }));
  const [flags] = await query<{ system_state: boolean; audit_chain: boolean }>(
    `SELECT ${exists("system_state")} AS system_state, ${exists("audit_chain")} AS audit_chain`,
  );
  const installation = flags?.system_state
    ? await query<{ id: string }>("SELECT installation_id::text AS id FROM system_state LIMIT 1")
    : [];
  const head = flags?.audit_chain
    ? await query<{ seq: number | string; chain_hash: string }>(
        "SELECT seq, chain_hash FROM audit_chain ORDER BY seq DESC LIMIT 1",
      )
    : [];
  const schemaRows = (table: string) =>
    query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${table} ORDER BY name`);
  return {
    serverVersion: version?.server_version ?? "unknown",
    installationId: installation[0]?.id ?? null,
    tables,
    sequences,
    migrations: await schemaRows("schema_migrations"),
    functions: await schemaRows("schema_functions"),
    chainHead: head[0] ? { seq: Number(head[0].seq), chainHash: head[0].chain_hash } : null,
  };
}

/** The query whose COPY text a table's file holds; a restore re-runs it to reconcile. */
export function tableSelect(table: SnapshotTable): string {
  const cols = table.columns.map(quoteIdent).join(", ");
  const order = table.orderBy.map(quoteIdent).join(", ");
  return `SELECT ${cols} FROM ${quoteIdent(table.name)}${order ? ` ORDER BY ${order}` : ""}`;
}

/** Removes what snapshots of an embedded database left behind when their process stopped mid-backup
 * (removeLeftCopies); gives what it removed. Nothing is left on a server. */
export async function removeLeftSnapshots(database: Database): Promise<string[]> {
  if (database.kind === "postgres") return [];
  const { removeLeftCopies } = await import("./snapshot-pglite.ts");
  return removeLeftCopies(database);
}

/** Opens a snapshot of the database on its engine. */
export async function openSnapshot(database: Database, options: { lanes?: number } = {}): Promise<Snapshot> {
  if (database.kind === "postgres") {
    const { openPostgresSnapshot } = await import("./snapshot-postgres.ts");
    return openPostgresSnapshot(database.url, options.lanes ?? 3);
  }
  const { openPgliteSnapshot } = await import("./snapshot-pglite.ts");
  return openPgliteSnapshot(database);
}
