import { sql, type Transaction } from "kysely";
import { CORE_ERRORS } from "../errors.ts";
import type { Database } from "./connect.ts";
import type { DB } from "./schema.ts";
import {
  type FunctionFile,
  type MigrationFile,
  readFunctionFiles,
  readMigrationFiles,
  SCHEMA_DIRS,
  type SchemaDirs,
} from "./schema-files.ts";

export { readFunctionFiles, readMigrationFiles, SCHEMA_DIRS, type SchemaDirs } from "./schema-files.ts";

/** Where each known migration or function file stands against the database. A migration is never
 * applied twice ("changed": edited after it was applied); a function file is applied again when its
 * text changed ("outdated"). */
export interface MigrationStatus {
  kind: "migration" | "function";
  name: string;
  state: "applied" | "pending" | "outdated" | "changed" | "unknown";
  appliedAt?: Date;
}

/** How a status names its file: migrations by name, function files under functions/. */
export const statusLabel = (s: Pick<MigrationStatus, "kind" | "name">): string =>
  s.kind === "function" ? `functions/${s.name}` : s.name;

/**
 * Earlier texts of migrations that were rewritten when their SQL functions and triggers moved to
 * functions/ (one definition each, with the same bodies as the last migration that restated them).
 * A database migrated with the earlier text has the same tables, and the runner re-applies every
 * function file to it, so it counts as applied. Nothing else may be added here: a changed migration is
 * otherwise refused.
 */
export const EARLIER_CHECKSUMS: Readonly<Record<string, readonly string[]>> = {
  "0001_core.sql": ["045f543eaa7f45d52969ee27a4d223994574985fb374df94091d9133941b0ced"],
  "0007_take_place.sql": ["062c2e10f6bf2054ecc01fc05b89c71c481bc60ebefa86bcc80050c85d39bb2c"],
  "0008_event_tallies.sql": ["db0c9609c847b5167e2e197d3d1d0b5038984e28bb2c4f5ae9066f3c457191e7"],
  "0011_register_in_one_statement.sql": ["4f68d82226e9a56c600e68d759a961b7450c78020c6f4069991e6a5fc1fdc0b7"],
  "0013_mode_check_in_audit_write.sql": ["60e7746b612b2456cc6fadadff94bc97a72641468edf1d4d415b86e0dc288baf"],
  "0014_register_locks_member.sql": ["3b507ec6af7d69deba49419cbf3d39c9ec93b2557b0162a9afc225896c3161cc"],
};

/**
 * Function files that were removed, each with the migration that drops its function and its record. Until
 * that migration has run, the database's record of such a file is expected, not "unknown".
 */
export const RETIRED_FUNCTIONS: Readonly<Record<string, string>> = {
  "clubos_page_block_frozen.sql": "0031_one_page_part_frozen_trigger.sql",
  "clubos_page_file_frozen.sql": "0031_one_page_part_frozen_trigger.sql",
};

const matches = (file: MigrationFile, recorded: string) =>
  recorded === file.checksum || (EARLIER_CHECKSUMS[file.name]?.includes(recorded) ?? false);

async function ensureTables(database: Database): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`.execute(
    database.db,
  );
  await sql`CREATE TABLE IF NOT EXISTS schema_functions (
    name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`.execute(
    database.db,
  );
}

type Recorded = { name: string; checksum: string; applied_at: Date };

function statusesOf(
  kind: MigrationStatus["kind"],
  files: MigrationFile[],
  recorded: Recorded[],
  differs: MigrationStatus["state"],
  retired: (name: string) => boolean = () => false,
): MigrationStatus[] {
  const byName = new Map(recorded.map((row) => [row.name, row]));
  const statuses: MigrationStatus[] = files.map((file) => {
    const row = byName.get(file.name);
    if (!row) return { kind, name: file.name, state: "pending" };
    const state = matches(file, row.checksum) ? "applied" : differs;
    return { kind, name: file.name, state, appliedAt: row.applied_at };
  });
  for (const row of recorded) {
    if (!files.some((f) => f.name === row.name) && !retired(row.name)) {
      statuses.push({ kind, name: row.name, state: "unknown", appliedAt: row.applied_at });
    }
  }
  return statuses;
}

/** Compares migration and function files with what the database recorded. */
export async function migrationStatus(
  database: Database,
  dirs: SchemaDirs = SCHEMA_DIRS,
): Promise<MigrationStatus[]> {
  await ensureTables(database);
  const migrations = await database.db.selectFrom("schema_migrations").selectAll().execute();
  const functions = await database.db.selectFrom("schema_functions").selectAll().execute();
  const applied = new Set(migrations.map((m) => m.name));
  const retiredLater = (name: string) => {
    const by = RETIRED_FUNCTIONS[name];
    return by !== undefined && !applied.has(by);
  };
  return [
    ...statusesOf("migration", readMigrationFiles(dirs.migrations), migrations, "changed"),
    ...statusesOf("function", readFunctionFiles(dirs), functions, "outdated", retiredLater),
  ];
}

/** Refuses to go on when an applied migration was edited, or the database has a migration or function
 * file that this build does not know. */
export function assertNoDrift(statuses: MigrationStatus[]): void {
  const changed = statuses.filter((s) => s.state === "changed").map(statusLabel);
  if (changed.length > 0) {
    throw CORE_ERRORS.migration_changed(
      `Migration ${changed.join(", ")} was changed after it was applied. Restore the original file ` +
        "and put the change in a new migration; ClubOS will not start on an altered history.",
    );
  }
  const unknown = statuses.filter((s) => s.state === "unknown").map(statusLabel);
  if (unknown.length > 0) {
    throw CORE_ERRORS.migration_unknown(
      `The database has migration ${unknown.join(", ")} that this version of ClubOS does not know. ` +
        "It was written by a newer version: run that version, or restore a backup made before it.",
    );
  }
}

/** CREATE OR REPLACE with other arguments adds a second function instead of replacing the first; the
 * old one would stay callable with the old behaviour. */
async function refuseOverloads(trx: Transaction<DB>): Promise<void> {
  const { rows } = await sql<{ name: string; versions: string }>`
    SELECT p.proname AS name,
           string_agg(p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', '; ') AS versions
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE left(p.proname, 7) = 'clubos_' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY n.nspname, p.proname HAVING count(*) > 1
    ORDER BY p.proname`.execute(trx);
  const first = rows[0];
  if (!first) return;
  throw CORE_ERRORS.function_overloaded(
    `The SQL function ${first.name} would exist twice: ${first.versions}. Its file in ` +
      "src/core/db/functions/ changed its arguments, which adds a function instead of replacing it. " +
      "Drop the old signature in a new migration (DROP FUNCTION IF EXISTS ...) and name that migration " +
      "in the file's `-- clubos:after` line. This step was undone; the database is as it was before it.",
  );
}

/** Applies pending migrations in order, each in its own transaction together with the function files
 * that need it; function files whose migration was already applied and whose text changed go first,
 * in one transaction. Returns what it applied, named as in migrationStatus. */
export async function migrate(database: Database, dirs: SchemaDirs = SCHEMA_DIRS): Promise<string[]> {
  const statuses = await migrationStatus(database, dirs);
  assertNoDrift(statuses);
  const functions = readFunctionFiles(dirs);
  const applied = new Set(
    statuses.filter((s) => s.kind === "migration" && s.state === "applied").map((s) => s.name),
  );
  const due = new Set(
    statuses
      .filter((s) => s.kind === "function" && (s.state === "pending" || s.state === "outdated"))
      .map((s) => s.name),
  );
  const done: string[] = [];
  const step = async (migration: MigrationFile | null, files: FunctionFile[]) => {
    if (!migration && files.length === 0) return;
    await database.db.transaction().execute(async (trx) => {
      if (migration) {
        await sql.raw(migration.sql).execute(trx);
        await trx
          .insertInto("schema_migrations")
          .values({ name: migration.name, checksum: migration.checksum })
          .execute();
      }
      for (const file of files) {
        await sql.raw(file.sql).execute(trx);
        await trx
          .insertInto("schema_functions")
          .values({ name: file.name, checksum: file.checksum })
          .onConflict((oc) =>
            oc.column("name").doUpdateSet({ checksum: file.checksum, applied_at: sql`now()` }),
          )
          .execute();
      }
      if (files.length > 0) await refuseOverloads(trx);
    });
    if (migration) done.push(migration.name);
    done.push(...files.map((f) => statusLabel({ kind: "function", name: f.name })));
  };
  await step(
    null,
    functions.filter((f) => due.has(f.name) && (f.after === null || applied.has(f.after))),
  );
  for (const migration of readMigrationFiles(dirs.migrations)) {
    if (applied.has(migration.name)) continue;
    // The migration may have changed what its function files rely on: they are applied again.
    await step(
      migration,
      functions.filter((f) => f.after === migration.name),
    );
  }
  return done;
}
