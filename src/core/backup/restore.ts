import { sql } from "kysely";
import type { Database } from "../db/connect.ts";
import { sqlState } from "../errors.ts";
import { BACKUP_ERRORS } from "./errors.ts";
import { type Manifest, quoteIdent, readManifest, sessionStatements } from "./format.ts";
import { prepareStaging, removeLeftStages, STAGE_AT_ROWS } from "./restore-staged.ts";
import { inPglite, inPostgres, loadTable, type Target } from "./restore-target.ts";
import { tableSelect } from "./snapshot.ts";
import { measureCopyText } from "./table-file.ts";
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

export interface RestoreOptions {
  onProgress?: (event: RestoreProgress) => void;
  /** Tables left exactly as they are instead of replaced: a restore in place keeps the mode, the
   * incidents and its own bookkeeping, which describe the present, not the backup's past. When
   * system_state is kept, it takes the backup's installation id, so the restored audit chain still
   * matches the anchors its installation wrote (and a move to a new server keeps its identity). */
  keep?: readonly string[];
  /** Also export every loaded table again and reconcile that with the manifest, before committing: proof
   * that the target stores the rows so that they read back byte for byte (what a later backup of it
   * will hash). A drill and a restore in place ask for it; otherwise a restore checks the bytes it loads and the rows the target holds,
   * which costs no second pass over the data (bench:backup: the read-back was about a sixth of a
   * restore of 1,000,000 audit entries). */
  readBack?: boolean;
  /** Tables with at least this many rows load on lanes of their own beside the transaction
   * (PostgreSQL; restore-staged.ts). */
  stageAtRows?: number;
}

/** Restores a bundle into the target database in one transaction (on PostgreSQL the largest tables
 * load beside it and it swaps them in: restore-staged.ts): triggers off for the load
 * (session_replication_role = replica: the data was checked when it was first written, and the audit
 * log's guards must not refuse its own rows), every table emptied and loaded with its keys and indexes
 * built after the data (foreign keys checked again as they are added), sequences set where the
 * snapshot had them. Each table's loaded bytes are hashed and counted on the way in, the rows the
 * target reports storing are counted, and all must match the manifest (with readBack, each table is also exported
 * again and reconciled). It commits only when all of them match; anything else leaves the target as it was. Refuses a target
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

/** How long a restore waits to have every table it replaces to itself, trying all at once. */
const LOCK_WAIT_MS = 60_000;

/** Takes every table the restore replaces (ACCESS EXCLUSIVE), all at once or none: a try that cannot
 * have them all within a moment gives back what it got and tries again. So the restore never holds some
 * tables while it waits for others, which a running server's session holding one and waiting for
 * another (the audit sealer: the chain, then the log its foreign key checks) would deadlock with. */
async function lockAll(t: Target, names: string[], manifest: Manifest): Promise<void> {
  if (names.length === 0) return;
  const deadline = Date.now() + LOCK_WAIT_MS;
  const list = names.map((n) => `public.${quoteIdent(n)}`).join(", ");
  for (;;) {
    await t.query("SAVEPOINT clubos_restore_lock");
    try {
      await t.query("SET LOCAL lock_timeout = '100ms'");
      await t.query(`LOCK TABLE ${list} IN ACCESS EXCLUSIVE MODE`);
      await t.query("SET LOCAL lock_timeout TO DEFAULT");
      await t.query("RELEASE SAVEPOINT clubos_restore_lock");
      return;
    } catch (error) {
      await t.query("ROLLBACK TO SAVEPOINT clubos_restore_lock");
      if (sqlState(error) !== "55P03") throw error;
      if (Date.now() > deadline) {
        throw BACKUP_ERRORS.restore_failed(
          `Restoring backup ${manifest.id} needs every table to itself, and for ${LOCK_WAIT_MS / 1000} s ` +
            "other sessions kept some of them busy. Nothing was changed. Stop what is using the " +
            "database (a long report, another tool) and restore again.",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
  }
}

/** Which of these tables hold at least one row (one probe each, on the first row only). */
async function tablesWithRows(t: Target, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const probes = names.map((name, i) => `SELECT ${i} AS i WHERE EXISTS (SELECT 1 FROM ${quoteIdent(name)})`);
  const rows = await t.query<{ i: number }>(probes.join(" UNION ALL "));
  return new Set(rows.map((r) => names[Number(r.i)]!));
}

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

/** A constraint dropped for the load and added again after it, by name and definition. */
interface Rebuilt {
  table: string;
  name: string;
  definition: string;
}

const inList = (tables: string[]) => tables.map((x) => `'${x.replace(/'/g, "''")}'`).join(", ");

// Primary keys and unique constraints of the loaded tables (their indexes are what a COPY maintains
// row by row: 22 s against 7 s plus 2 s to build them after, for 1,000,000 audit entries), except
// those a kept table's foreign key points at (adding that key again would check rows the restore does
// not replace) and those a view depends on.
const KEYS_SQL = (tables: string[]) => `
  SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition, k.conindid::text AS index
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relname IN (${inList(tables)}) AND k.contype IN ('p', 'u')
    AND c.relkind = 'r' AND k.conparentid = 0
    AND NOT EXISTS (SELECT 1 FROM pg_constraint f JOIN pg_class fc ON fc.oid = f.conrelid
                    WHERE f.contype = 'f' AND f.conindid = k.conindid AND fc.relname NOT IN (${inList(tables)}))
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_constraint'::regclass
                    AND d.refobjid = k.oid AND d.classid = 'pg_rewrite'::regclass)
  ORDER BY c.relname, k.conname`;

// The foreign keys that point at those indexes, and those of the staged tables (which go with the
// table the swap drops): they go first and come back last.
const FOREIGN_KEYS_SQL = (indexes: string[], staged: string[]) => `
  SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
  WHERE k.contype = 'f' AND (${indexes.length ? `k.conindid IN (${indexes.join(", ")})` : "false"}
    OR (c.relnamespace = 'public'::regnamespace AND c.relname IN (${staged.length ? inList(staged) : "NULL"})))
  ORDER BY c.relname, k.conname`;

/** Drops the loaded tables' primary keys and unique constraints (and the foreign keys pointing at
 * them) for the load, as pg_restore creates them only after the data. Added again after the load
 * from their own definitions, each key is a bulk build that still refuses a duplicate, and each
 * foreign key checks every row again (stricter than the load itself, whose triggers are off). A
 * staged table keeps its keys (its staged copy has them built); the foreign keys pointing at them and
 * its own are dropped all the same, for the swap. */
async function dropKeys(
  t: Target,
  tables: string[],
  staged: ReadonlySet<string>,
): Promise<{ keys: Rebuilt[]; foreign: Rebuilt[] }> {
  if (tables.length === 0) return { keys: [], foreign: [] };
  const found = await t.query<Rebuilt & { index: string }>(KEYS_SQL(tables));
  const keys = found.filter((k) => !staged.has(k.table));
  const foreign =
    found.length || staged.size
      ? await t.query<Rebuilt>(
          FOREIGN_KEYS_SQL(
            found.map((k) => `${Number(k.index)}::oid`),
            [...staged],
          ),
        )
      : [];
  const drop = (x: Rebuilt) =>
    t.query(`ALTER TABLE public.${quoteIdent(x.table)} DROP CONSTRAINT ${quoteIdent(x.name)}`);
  for (const fk of foreign) await drop(fk);
  for (const key of keys) await drop(key);
  return { keys, foreign };
}

/** Adds a dropped constraint again; rows that break it (a duplicate key, a reference to nothing) mean
 * the bundle does not hold together, and the whole restore is undone. */
async function addConstraint(t: Target, x: Rebuilt, manifest: Manifest): Promise<void> {
  try {
    await t.query(
      `ALTER TABLE public.${quoteIdent(x.table)} ADD CONSTRAINT ${quoteIdent(x.name)} ${x.definition}`,
    );
  } catch (error) {
    throw BACKUP_ERRORS.backup_damaged(
      `After loading backup ${manifest.id}, its rows break ${x.name} on ${x.table} (${(error as Error).message}). ` +
        "The restore was undone; the database is as it was. Drill it (`clubos backup drill ID --actor NAME`) or use another backup.",
    );
  }
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
  const bundle = { dir: bundleDir, manifest, key };
  for (const statement of sessionStatements("local")) await t.query(statement);
  await t.query("SET LOCAL session_replication_role = replica");
  // The indexes are built again after the load: give each build memory enough to sort in one pass.
  await t.query("SET LOCAL maintenance_work_mem = '256MB'");
  await assertSameSchema(t, manifest);
  const total = tables.length;
  let done = 0;
  const loadedOne = (table: (typeof tables)[number]) =>
    progress({ step: "load", table: table.name, rows: table.rows, done: ++done, total });
  if (t.openLane) await removeLeftStages(t);
  const prepared = await prepareStaging(t, tables, bundle, options.stageAtRows ?? STAGE_AT_ROWS);
  const names = tables.map((x) => x.name);
  await lockAll(t, names, manifest);
  const staging = prepared.start(loadedOne);
  try {
    const here = tables.filter((x) => !staging.tables.has(x.name));
    const hereNames = here.map((x) => x.name);
    const rebuilt = await dropKeys(t, names, staging.tables);
    const indexes = await dropSecondaryIndexes(t, hereNames);
    // Emptied with their keys and indexes already gone, so there are fewer new files to make (about half
    // a second less on bench:backup's club). Only those holding rows: each TRUNCATE makes a table's files
    // anew, for nothing when it is empty (a drill's scratch database, a move to a new server). The tables
    // are locked against every other session (lockAll), so one found empty stays empty until this
    // transaction ends.
    const filled = await tablesWithRows(t, hereNames);
    if (filled.size > 0) await t.query(`TRUNCATE ${[...filled].map(quoteIdent).join(", ")}`);
    for (const table of here) {
      await loadTable(t, quoteIdent(table.name), table, bundle, filled.has(table.name));
      loadedOne(table);
    }
    for (const key of rebuilt.keys) await addConstraint(t, key, manifest);
    for (const index of indexes) await t.query(index.definition);
    // First statistics: without them the planner takes every loaded table for empty, and the first
    // queries after a restore (the verification suite's invariant checks among them) plan badly. A
    // small sample (a tenth of the default) is enough for that and costs a tenth (bench:backup: about
    // half a second less); on PostgreSQL autovacuum's own ANALYZE of the new rows refines them later.
    // The staged tables are analysed on their lanes.
    await t.query("SET LOCAL default_statistics_target = 10");
    for (const table of here) await t.query(`ANALYZE ${quoteIdent(table.name)}`);
    await staging.loaded;
    await staging.swapIn();
    for (const fk of rebuilt.foreign) await addConstraint(t, fk, manifest);
    await staging.assertSameDefinitions();
  } catch (error) {
    await staging.loaded.catch(() => {});
    throw error;
  }
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
    if (options.readBack) {
      const back = await measureCopyText(await t.copyOut(`COPY (${tableSelect(table)}) TO STDOUT`));
      if (back.rows !== table.rows || back.sha256 !== table.plaintextSha256)
        mismatched.push(`${table.name} (${back.rows} rows read back, ${table.rows} in the manifest)`);
    }
    progress({ step: "reconcile", table: table.name, done: ++done, total });
  }
  if (mismatched.length > 0) {
    throw BACKUP_ERRORS.backup_damaged(
      `After loading backup ${manifest.id}, these tables do not read back as the manifest says: ` +
        `${mismatched.join(", ")}. The restore was undone; the database is as it was.`,
    );
  }
  // Every row changed without the triggers that change the content versions (replica role): new ones,
  // so no server takes what it kept before the restore for what the database now says. After the read
  // back, which compares the restored rows with the backup's.
  await t.query("UPDATE content_versions SET version = gen_random_uuid()");
  return { id: manifest.id, tables: total, rows: tables.reduce((n, x) => n + x.rows, 0) };
}
