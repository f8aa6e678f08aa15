import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sql } from "kysely";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { Database, PgliteDatabase } from "../db/connect.ts";
import { BACKUP_ERRORS } from "./errors.ts";
import { type Manifest, quoteIdent, readManifest, sessionStatements } from "./format.ts";
import { tableSelect } from "./snapshot.ts";
import { measureCopyText, readTableFile } from "./table-file.ts";
import { assertKeyFits } from "./verify.ts";

/** A step of a restore, for progress lines. */
export type RestoreProgress =
  | { step: "load"; table: string; rows: number; done: number; total: number }
  | { step: "reconcile"; table: string; done: number; total: number };

/** What a restore reconciled: every table's rows and checksum equal the manifest's. */
export interface RestoreResult {
  id: string;
  tables: number;
  rows: number;
}

/** One open transaction on the target, whichever engine it is. */
interface Target {
  query<R>(text: string): Promise<R[]>;
  copyIn(text: string, source: Readable): Promise<void>;
  copyOut(text: string): Promise<Readable>;
}

export interface RestoreOptions {
  onProgress?: (event: RestoreProgress) => void;
  /** Tables left exactly as they are instead of replaced: a restore in place keeps the mode, the
   * incidents and its own bookkeeping, which describe the present, not the backup's past. When
   * system_state is kept, it takes the backup's installation id, so the restored audit chain still
   * matches the anchors its installation wrote (and a move to a new server keeps its identity). */
  keep?: readonly string[];
}

/** Restores a bundle into the target database in one transaction: triggers off for the load
 * (session_replication_role = replica: the data was checked when it was first written, and the audit
 * log's guards must not refuse its own rows), every table emptied and loaded, sequences set where the
 * snapshot had them, then each table read back and its rows and checksum reconciled with the manifest.
 * It commits only when all of them match; anything else leaves the target as it was. Refuses a target
 * whose migrations differ from the bundle's. Works across engines (PGlite <-> PostgreSQL). */
export async function restoreInto(
  target: Database,
  bundleDir: string,
  key: Buffer | null,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const manifest = readManifest(bundleDir);
  assertKeyFits(manifest, key);
  const run = (t: Target) => load(t, manifest, bundleDir, key, options);
  return target.kind === "postgres" ? inPostgres(target.url, run) : inPglite(target, run);
}

async function inPostgres<T>(url: string, body: (t: Target) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "clubos-restore" });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query("BEGIN");
    const result = await body({
      query: async (text) => (await client.query(text)).rows,
      copyIn: (text, source) => pipeline(source, client.query(copyFrom(text))),
      copyOut: async (text) => client.query(copyTo(text)),
    });
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

async function inPglite<T>(target: PgliteDatabase, body: (t: Target) => Promise<T>): Promise<T> {
  const { pglite } = target;
  // Holding Kysely's one connection: nothing else runs on the database until the restore ends.
  return target.db.connection().execute(async () => {
    await pglite.exec("BEGIN");
    try {
      const result = await body({
        query: async <R>(text: string) => (await pglite.query<R>(text)).rows,
        copyIn: async (text, source) => {
          const parts: Buffer[] = [];
          for await (const part of source) parts.push(part as Buffer);
          await pglite.query(text.replace(/FROM STDIN\b/, "FROM '/dev/blob'"), [], {
            blob: new Blob(parts as unknown as BlobPart[]),
          });
        },
        copyOut: async (text) => {
          const result = await pglite.query(text.replace(/TO STDOUT$/, "TO '/dev/blob'"));
          return Readable.from([
            Buffer.from(result.blob ? await result.blob.arrayBuffer() : new ArrayBuffer(0)),
          ]);
        },
      });
      await pglite.exec("COMMIT");
      return result;
    } catch (error) {
      await pglite.exec("ROLLBACK").catch(() => {});
      throw error;
    }
  });
}

const listOf = (rows: Array<{ name: string; checksum: string }>) =>
  rows.map((r) => `${r.name}:${r.checksum}`).join("\n");

/** Refuses, before anything is changed, a database whose migrations differ from the bundle's. */
export async function assertRestorableInto(target: Database, manifest: Manifest): Promise<void> {
  const { rows } = await sql<{ name: string; checksum: string }>`
    SELECT name, checksum FROM schema_migrations ORDER BY name`.execute(target.db);
  assertSameMigrations(rows, manifest);
}

async function assertSameSchema(t: Target, manifest: Manifest): Promise<void> {
  assertSameMigrations(
    await t.query<{ name: string; checksum: string }>(
      "SELECT name, checksum FROM schema_migrations ORDER BY name",
    ),
    manifest,
  );
}

function assertSameMigrations(
  migrations: Array<{ name: string; checksum: string }>,
  manifest: Manifest,
): void {
  if (listOf(migrations) !== listOf(manifest.schema.migrations)) {
    const have = new Set(migrations.map((m) => m.name));
    const want = new Set(manifest.schema.migrations.map((m) => m.name));
    const missing = [...want].filter((m) => !have.has(m));
    const extra = [...have].filter((m) => !want.has(m));
    throw BACKUP_ERRORS.backup_schema_mismatch(
      `Backup ${manifest.id} was made at another schema version than this database has` +
        (missing.length ? `; the database lacks ${missing.join(", ")}` : "") +
        (extra.length ? `; the backup lacks ${extra.join(", ")}` : "") +
        (!missing.length && !extra.length ? "; a migration's checksum differs" : "") +
        ". Restore it with the ClubOS version that made it (app version " +
        `${manifest.appVersion}) into a database migrated by that version. Nothing was changed.`,
    );
  }
}

// Indexes no constraint owns (not a primary key, unique or exclusion constraint, not what a foreign key
// points at), on the tables about to be loaded.
const SECONDARY_INDEXES_SQL = (tables: string[]) => `
  SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE n.nspname = 'public' AND c.relname IN (${tables.map((x) => `'${x.replace(/'/g, "''")}'`).join(", ")})
    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
  ORDER BY ic.relname`;

/** Drops the loaded tables' secondary indexes inside the restore's transaction, so COPY does not
 * maintain them row by row; the caller builds each again from its definition after the load (one bulk
 * build each, as pg_restore does). A unique index built again still refuses duplicates, so nothing
 * the index guarded goes unchecked. */
async function dropSecondaryIndexes(
  t: Target,
  tables: string[],
): Promise<Array<{ name: string; definition: string }>> {
  if (tables.length === 0) return [];
  const indexes = await t.query<{ name: string; definition: string }>(SECONDARY_INDEXES_SQL(tables));
  for (const index of indexes) await t.query(`DROP INDEX public.${quoteIdent(index.name)}`);
  return indexes;
}

async function load(
  t: Target,
  manifest: Manifest,
  bundleDir: string,
  key: Buffer | null,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const progress = options.onProgress ?? (() => {});
  const keep = new Set(options.keep ?? []);
  const tables = manifest.tables.filter((x) => !keep.has(x.name));
  for (const statement of sessionStatements("local")) await t.query(statement);
  await t.query("SET LOCAL session_replication_role = replica");
  // The indexes are built again after the load: give each build memory enough to sort in one pass.
  await t.query("SET LOCAL maintenance_work_mem = '256MB'");
  await assertSameSchema(t, manifest);
  const total = tables.length;
  if (total > 0) await t.query(`TRUNCATE ${tables.map((x) => quoteIdent(x.name)).join(", ")}`);
  const indexes = await dropSecondaryIndexes(
    t,
    tables.map((x) => x.name),
  );
  let done = 0;
  for (const table of tables) {
    const cols = table.columns.map(quoteIdent).join(", ");
    const source = readTableFile(path.join(bundleDir, table.file), {
      key,
      label: table.file,
      compression: manifest.compression,
    });
    // FREEZE: the table was emptied in this transaction, so its rows can be written already frozen
    // (no hint-bit rewrite of the whole table on first read).
    await t.copyIn(`COPY ${quoteIdent(table.name)} (${cols}) FROM STDIN WITH (FREEZE true)`, source);
    progress({ step: "load", table: table.name, rows: table.rows, done: ++done, total });
  }
  for (const index of indexes) await t.query(index.definition);
  // Fresh statistics: without them the planner takes every loaded table for empty, and the first
  // queries after a restore (the verification suite's invariant checks among them) plan badly.
  for (const table of tables) await t.query(`ANALYZE ${quoteIdent(table.name)}`);
  for (const seq of manifest.sequences) {
    const name = quoteIdent(seq.name).replace(/'/g, "''");
    await t.query(`SELECT setval('public.${name}', ${Number(seq.lastValue)}, ${seq.isCalled})`);
  }
  if (keep.has("system_state") && manifest.source.installationId) {
    const id = manifest.source.installationId.replace(/'/g, "''");
    await t.query(`UPDATE system_state SET installation_id = '${id}'`);
  }
  done = 0;
  const mismatched: string[] = [];
  for (const table of tables) {
    const back = await measureCopyText(await t.copyOut(`COPY (${tableSelect(table)}) TO STDOUT`));
    if (back.rows !== table.rows || back.sha256 !== table.plaintextSha256) {
      mismatched.push(`${table.name} (${back.rows} rows restored, ${table.rows} in the manifest)`);
    }
    progress({ step: "reconcile", table: table.name, done: ++done, total });
  }
  if (mismatched.length > 0) {
    throw BACKUP_ERRORS.backup_damaged(
      `After loading backup ${manifest.id}, these tables do not read back as the manifest says: ` +
        `${mismatched.join(", ")}. The restore was undone; the database is as it was.`,
    );
  }
  return { id: manifest.id, tables: total, rows: tables.reduce((n, x) => n + x.rows, 0) };
}
