import { randomBytes } from "node:crypto";
import { BACKUP_ERRORS } from "./errors.ts";
import { type Manifest, quoteIdent, type TableEntry } from "./format.ts";
import { LANE_NAME, type Lane, loadTable, type Target } from "./restore-target.ts";

/** Tables with at least this many rows are loaded on lanes of their own (PostgreSQL). */
export const STAGE_AT_ROWS = 250_000;

/** Connections that build one staged table's indexes at once (two cores are enough to gain). */
const INDEX_LANES = 2;

const STAGE_PREFIX = "clubos_restore_";

const inList = (names: readonly string[]) => names.map((x) => `'${x.replace(/'/g, "''")}'`).join(", ");

// Tables a lane may load beside the transaction and the transaction then swap in for the live one:
// plain tables of this user with nothing the swap would have to rebuild but their own columns,
// keys, indexes, triggers, owned sequences and the foreign keys of the loaded tables (which the
// restore drops and adds again anyway), and functions taking its row type that nothing else depends
// on (made again from their definitions). Anything else depending on one (a view, a policy, a
// foreign key from a kept table, extended statistics), and column settings CREATE TABLE ... LIKE does
// not copy (statistics targets, n_distinct, privileges), keep it in the transaction's own load.
const ELIGIBLE_SQL = (candidates: string[], loaded: string[]) => `
  WITH cand AS (
    SELECT c.oid, c.relname, c.reltype, t.typarray FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname IN (${inList(candidates)})
      AND c.relkind = 'r' AND c.relpersistence = 'p' AND NOT c.relispartition AND NOT c.relrowsecurity
      AND NOT c.relhasrules AND c.reltablespace = 0 AND c.relacl IS NULL AND c.relreplident = 'd'
      AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
      AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
      AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                      AND NOT a.attisdropped AND (a.attidentity <> '' OR a.attstattarget <> -1
                        OR a.attacl IS NOT NULL OR a.attfdwoptions IS NOT NULL
                        OR EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE left(o, 10) = 'n_distinct')))
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid
                      AND (k.contype NOT IN ('p', 'u', 'f', 'c') OR k.condeferrable OR NOT k.convalidated))
      AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal
                      AND (g.tgconstraint <> 0 OR g.tgenabled <> 'O'))
  )
  SELECT cand.relname AS name FROM cand WHERE NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE ((d.refclassid = 'pg_class'::regclass AND d.refobjid = cand.oid)
        OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = cand.reltype))
      AND NOT ((d.classid = 'pg_type'::regclass AND d.objid IN (cand.reltype, cand.typarray))
        OR (d.classid = 'pg_attrdef'::regclass
            AND EXISTS (SELECT 1 FROM pg_attrdef x WHERE x.oid = d.objid AND x.adrelid = cand.oid))
        OR (d.classid = 'pg_constraint'::regclass
            AND EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_class kc ON kc.oid = k.conrelid
                        WHERE k.oid = d.objid AND (k.conrelid = cand.oid OR (k.contype = 'f'
                          AND kc.relnamespace = 'public'::regnamespace AND kc.relname IN (${inList(loaded)})))))
        OR (d.classid = 'pg_class'::regclass
            AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = d.objid AND i.indrelid = cand.oid))
        OR (d.classid = 'pg_class'::regclass
            AND EXISTS (SELECT 1 FROM pg_class s WHERE s.oid = d.objid
                        AND ((d.deptype = 'a' AND s.relkind = 'S') OR (d.deptype = 'i' AND s.relkind = 't'))))
        OR (d.classid = 'pg_proc'::regclass AND d.refobjid = cand.reltype
            AND EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = d.objid AND p.proacl IS NULL
                        AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user))
            AND NOT EXISTS (SELECT 1 FROM pg_depend f WHERE f.refclassid = 'pg_proc'::regclass
                            AND f.refobjid = d.objid))
        OR (d.classid = 'pg_trigger'::regclass
            AND EXISTS (SELECT 1 FROM pg_trigger g WHERE g.oid = d.objid AND g.tgrelid = cand.oid))))
  ORDER BY 1`;

// How the table is defined, as one text: the swapped-in table must give exactly the same.
const FINGERPRINT_SQL = (name: string) => `
  SELECT concat_ws(E'\\n',
    (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
        || ' ' || coalesce(pg_get_expr(x.adbin, x.adrelid), '-') || ' ' || a.attgenerated::text || ' '
        || a.attcollation::regcollation::text || ' ' || a.attstattarget || ' ' || a.attstorage::text || ' '
        || a.attcompression::text || ' ' || coalesce(col_description(c.oid, a.attnum), '-'), ', ' ORDER BY a.attnum)
     FROM pg_attribute a LEFT JOIN pg_attrdef x ON x.adrelid = a.attrelid AND x.adnum = a.attnum
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    coalesce((SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid) || ' ' || k.convalidated, ', '
        ORDER BY k.conname) FROM pg_constraint k WHERE k.conrelid = c.oid), '-'),
    coalesce((SELECT string_agg(k.conname || ' on ' || k.conrelid::regclass::text || ' ' || pg_get_constraintdef(k.oid),
        ', ' ORDER BY k.conname) FROM pg_constraint k WHERE k.confrelid = c.oid), '-'),
    coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid) || ' ' || coalesce(ic.reloptions::text, '-'), ', '
        ORDER BY ic.relname) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid), '-'),
    coalesce((SELECT string_agg(pg_get_triggerdef(g.oid) || ' ' || g.tgenabled::text, ', ' ORDER BY g.tgname)
        FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal), '-'),
    (SELECT count(*)::text FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgisinternal),
    coalesce((SELECT string_agg(s.relname, ', ' ORDER BY s.relname) FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid WHERE d.classid = 'pg_class'::regclass
        AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND s.relkind = 'S'), '-'),
    coalesce((SELECT string_agg(pg_get_functiondef(p.oid), E'\n' ORDER BY p.oid::regprocedure::text)
        FROM pg_proc p WHERE p.oid IN (SELECT d.objid FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
        AND d.refclassid = 'pg_type'::regclass AND d.refobjid = c.reltype)), '-'),
    c.relowner::regrole::text, coalesce(c.reloptions::text, '-'), c.relpersistence::text,
    c.relreplident::text, c.relrowsecurity::text, coalesce(obj_description(c.oid, 'pg_class'), '-')
  ) AS fingerprint
  FROM pg_class c WHERE c.oid = 'public.${name.replace(/"/g, '""').replace(/'/g, "''")}'::regclass`;

// What a lane needs to build the table as the live one is, in the stage schema: key and index
// definitions (PostgreSQL writes them with the table as public.<ident>), triggers, owned sequences.
const PARTS_SQL = (name: string) => `
  SELECT quote_ident(c.relname) AS ident, coalesce(c.reloptions::text, '') AS reloptions,
    coalesce((SELECT json_agg(json_build_object('name', k.conname, 'kind', k.contype::text,
        'index', pg_get_indexdef(k.conindid)) ORDER BY k.conname)
      FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u')), '[]') AS keys,
    coalesce((SELECT json_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid) FROM pg_index i
      WHERE i.indrelid = c.oid AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)),
      '[]') AS indexes,
    coalesce((SELECT json_agg(pg_get_triggerdef(g.oid) ORDER BY g.tgname) FROM pg_trigger g
      WHERE g.tgrelid = c.oid AND NOT g.tgisinternal), '[]') AS triggers,
    coalesce((SELECT json_agg(json_build_object('name', quote_ident(s.relname), 'column', quote_ident(a.attname)))
      FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
        AND d.deptype = 'a' AND s.relkind = 'S'), '[]') AS sequences,
    coalesce((SELECT json_agg(json_build_object('signature', p.oid::regprocedure::text,
        'definition', pg_get_functiondef(p.oid))) FROM pg_proc p
      WHERE p.oid IN (SELECT d.objid FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
        AND d.refclassid = 'pg_type'::regclass AND d.refobjid = c.reltype)), '[]') AS functions
  FROM pg_class c WHERE c.oid = 'public.${name.replace(/"/g, '""').replace(/'/g, "''")}'::regclass`;

interface Parts {
  ident: string;
  reloptions: string;
  keys: Array<{ name: string; kind: "p" | "u"; index: string }>;
  indexes: string[];
  triggers: string[];
  sequences: Array<{ name: string; column: string }>;
  /** Functions taking the table's row type: dropped with the live table's type, made again. */
  functions: Array<{ signature: string; definition: string }>;
}

interface StagedTable {
  table: TableEntry;
  parts: Parts;
  fingerprint: string;
}

/** The largest tables, loaded beside the restore's transaction and swapped in by it. */
export interface Staging {
  /** The names of the staged tables: the transaction neither empties, loads nor rebuilds them. */
  tables: ReadonlySet<string>;
  /** Resolves when every staged table is loaded, checked, keyed, indexed and analysed. */
  loaded: Promise<void>;
  /** In the transaction, after loaded: each live table replaced by its staged one (its triggers and
   * sequences taken over), before the foreign keys are added again. */
  swapIn(): Promise<void>;
  /** In the transaction, after the foreign keys: each swapped-in table is defined exactly as the live
   * one was, or the restore is undone. */
  assertSameDefinitions(): Promise<void>;
}

/** How a table of schema public is defined, as one text (what a swap must leave unchanged). */
export async function definitionOf(query: <R>(text: string) => Promise<R[]>, name: string): Promise<string> {
  const [row] = await query<{ fingerprint: string }>(FINGERPRINT_SQL(name));
  return row!.fingerprint;
}

/** Drops the stage schemas of restores whose process stopped before theirs ended: each holds copies
 * of the club's rows that no backup includes and no server reads. */
export async function removeLeftStages(t: Pick<Target, "query">): Promise<void> {
  const left = await t.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE left(nspname, ${STAGE_PREFIX.length}) = '${STAGE_PREFIX}'`,
  );
  for (const { name } of left) await t.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
}

/** The staged tables' copies made in the stage schema, empty, before the transaction takes its locks:
 * start loads them. */
export interface PreparedStaging {
  tables: ReadonlySet<string>;
  /** Starts the lanes; call it once the transaction holds every table it replaces. */
  start(onLoaded: (table: TableEntry) => void): Staging;
}

const NOTHING_STAGED: Staging = {
  tables: new Set(),
  loaded: Promise.resolve(),
  swapIn: async () => {},
  assertSameDefinitions: async () => {},
};

const NOTHING_PREPARED: PreparedStaging = { tables: NOTHING_STAGED.tables, start: () => NOTHING_STAGED };

/** The definition a lane runs to build an index of the live table on its staged copy. */
function inStage(definition: string, ident: string, stage: string): string {
  const live = ` ON public.${ident} USING `;
  const at = definition.indexOf(live);
  if (at < 0 || definition.indexOf(live, at + 1) >= 0)
    throw new Error(`cannot place index definition in the stage schema: ${definition}`);
  return `${definition.slice(0, at)} ON ${stage}.${ident} USING ${definition.slice(at + live.length)}`;
}

/**
 * Prepares loading the largest loaded tables (PostgreSQL: at least atRows rows, and nothing depending
 * on them the swap could not rebuild) on lanes of their own, while the transaction loads the rest:
 * each into a table of a stage schema no server reads (made here, before the transaction locks the
 * live tables: making it reads them), with its keys and indexes built there over two connections.
 * The stage schema, whatever it still holds, is dropped once the transaction ends.
 */
export async function prepareStaging(
  t: Target,
  tables: readonly TableEntry[],
  bundle: { dir: string; manifest: Manifest; key: Buffer | null },
  atRows: number,
): Promise<PreparedStaging> {
  const candidates = tables.filter((x) => x.rows >= atRows).map((x) => x.name);
  if (!t.openLane || candidates.length === 0) return NOTHING_PREPARED;
  const openLane = t.openLane;
  const names = (
    await t.query<{ name: string }>(
      ELIGIBLE_SQL(
        candidates,
        tables.map((x) => x.name),
      ),
    )
  ).map((r) => r.name);
  if (names.length === 0) return NOTHING_PREPARED;
  const staged: StagedTable[] = [];
  for (const name of names) {
    const [parts] = await t.query<Parts>(PARTS_SQL(name));
    const fingerprint = await definitionOf(t.query, name);
    staged.push({ table: tables.find((x) => x.name === name)!, parts: parts!, fingerprint });
  }
  const stage = `${STAGE_PREFIX}${randomBytes(6).toString("hex")}`;
  // The lanes still open, by server process: the cleanup stops those (a lane still building an index
  // would hold the stage until it ends), and only those.
  const open = new Map<number, Lane>();
  const lane = async (): Promise<Lane> => {
    const opened = await openLane();
    const [row] = await opened.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    open.set(row!.pid, opened);
    const close = () => {
      open.delete(row!.pid);
      return opened.close();
    };
    return { ...opened, close };
  };
  t.afterEnd(async () => {
    const cleanup = await openLane();
    try {
      if (open.size)
        await cleanup.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${[...open.keys()].join(", ")}) ` +
            `AND application_name = '${LANE_NAME}'`,
        );
      await cleanup.query(`DROP SCHEMA IF EXISTS ${stage} CASCADE`);
    } finally {
      await cleanup.close();
    }
    for (const opened of open.values()) await opened.close();
  });
  const setup = await lane();
  await setup.query(`CREATE SCHEMA ${stage}`);
  for (const { parts } of staged) {
    await setup.query(
      `CREATE TABLE ${stage}.${parts.ident} (LIKE public.${parts.ident} INCLUDING DEFAULTS INCLUDING CONSTRAINTS ` +
        "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)" +
        (parts.reloptions ? ` WITH (${parts.reloptions.slice(1, -1)})` : ""),
    );
  }
  await setup.close();
  return {
    tables: new Set(names),
    start: (onLoaded) => startLanes(t, staged, stage, bundle, lane, onLoaded),
  };
}

/** The lanes of prepared staged tables: each loads, checks, keys, indexes and analyses its table. */
function startLanes(
  t: Target,
  staged: StagedTable[],
  stage: string,
  bundle: { dir: string; manifest: Manifest; key: Buffer | null },
  lane: () => Promise<Lane>,
  onLoaded: (table: TableEntry) => void,
): Staging {
  const loaded = Promise.all(
    staged.map(async ({ table, parts }) => {
      const copier = await lane();
      const relation = `${stage}.${parts.ident}`;
      await copier.query("BEGIN");
      await copier.query(`TRUNCATE ${relation}`);
      await loadTable(copier, relation, table, bundle, true);
      await copier.query("COMMIT");
      onLoaded(table);
      const builds = [...parts.keys.map((k) => k.index), ...parts.indexes].map((d) =>
        inStage(d, parts.ident, stage),
      );
      const builders = [copier, ...(await Promise.all(Array.from({ length: INDEX_LANES - 1 }, lane)))];
      await Promise.all(
        builders.map(async (builder) => {
          await builder.query("SET maintenance_work_mem = '256MB'");
          for (let next = builds.shift(); next; next = builds.shift()) await builder.query(next);
        }),
      );
      for (const key of parts.keys) {
        await copier.query(
          `ALTER TABLE ${relation} ADD CONSTRAINT ${quoteIdent(key.name)} ${key.kind === "p" ? "PRIMARY KEY" : "UNIQUE"} USING INDEX ${quoteIdent(key.name)}`,
        );
      }
      await copier.query("SET default_statistics_target = 10");
      await copier.query(`ANALYZE ${relation}`);
      for (const builder of builders) await builder.close();
    }),
  ).then(() => {});
  // Awaited by the transaction once its own load is done; until then a failure waits there.
  loaded.catch(() => {});
  return {
    tables: new Set(staged.map((x) => x.table.name)),
    loaded,
    swapIn: async () => {
      for (const { parts } of staged) {
        for (const s of parts.sequences) await t.query(`ALTER SEQUENCE public.${s.name} OWNED BY NONE`);
        for (const f of parts.functions) await t.query(`DROP FUNCTION ${f.signature}`);
        await t.query(`DROP TABLE public.${parts.ident}`);
        await t.query(`ALTER TABLE ${stage}.${parts.ident} SET SCHEMA public`);
        for (const f of parts.functions) await t.query(f.definition);
        for (const trigger of parts.triggers) await t.query(trigger);
        for (const s of parts.sequences)
          await t.query(`ALTER SEQUENCE public.${s.name} OWNED BY public.${parts.ident}.${s.column}`);
      }
    },
    assertSameDefinitions: async () => {
      for (const { table, fingerprint } of staged) {
        if ((await definitionOf(t.query, table.name)) !== fingerprint) {
          throw BACKUP_ERRORS.restore_failed(
            `Restoring ${table.name} from backup ${bundle.manifest.id} on a lane of its own gave a table defined ` +
              "otherwise than the one it replaces. The restore was undone; the database is as it was. " +
              "Report this as a bug; meanwhile restore into a fresh database migrated by this version.",
          );
        }
      }
    },
  };
}
