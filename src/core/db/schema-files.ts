import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CORE_ERRORS } from "../errors.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Where the schema's SQL lives: table migrations (forward-only) and one file per SQL function. */
export interface SchemaDirs {
  migrations: string;
  functions: string;
}

export const SCHEMA_DIRS: SchemaDirs = {
  migrations: path.join(HERE, "migrations"),
  functions: path.join(HERE, "functions"),
};

/** One migration file as found on disk. */
export interface MigrationFile {
  name: string;
  checksum: string;
  sql: string;
}

/** One function file: its function (and trigger, if any), applied again whenever its text changes. */
export interface FunctionFile extends MigrationFile {
  /** The migration whose tables (or dropped old signature) it needs; null: it needs none. */
  after: string | null;
}

function readSql(dir: string, name: string): MigrationFile {
  const text = fs.readFileSync(path.join(dir, name), "utf8");
  return { name, sql: text, checksum: createHash("sha256").update(text).digest("hex") };
}

/** Reads NNNN_name.sql files in order, with their sha256 checksums. */
export function readMigrationFiles(dir = SCHEMA_DIRS.migrations): MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((name) => readSql(dir, name));
}

const invalid = (name: string, what: string) =>
  CORE_ERRORS.function_file_invalid(`src/core/db/functions/${name} ${what}`);

/** Reads clubos_*.sql function files in the order a fresh database gets them: by the migration each
 * needs (those needing none first), then by name. Each must say what it needs in a line
 * `-- clubos:after <migration>` (or `none`) and define the function it is named after. */
export function readFunctionFiles(dirs: SchemaDirs = SCHEMA_DIRS): FunctionFile[] {
  const migrations = readMigrationFiles(dirs.migrations).map((m) => m.name);
  const files = fs
    .readdirSync(dirs.functions)
    .filter((f) => /^clubos_[a-z0-9_]+\.sql$/.test(f))
    .map((name): FunctionFile => {
      const file = readSql(dirs.functions, name);
      const needs = /^-- clubos:after (\S+)[ \t]*$/m.exec(file.sql)?.[1];
      if (!needs) throw invalid(name, "has no line `-- clubos:after <migration>` (or `none`).");
      const after = needs === "none" ? null : `${needs}.sql`;
      if (after !== null && !migrations.includes(after)) {
        throw invalid(name, `needs migration ${needs}, which does not exist.`);
      }
      const fn = name.slice(0, -".sql".length);
      if (!new RegExp(`^CREATE OR REPLACE FUNCTION ${fn}\\(`, "m").test(file.sql)) {
        throw invalid(name, `must define ${fn} with CREATE OR REPLACE FUNCTION ${fn}(...).`);
      }
      return { ...file, after };
    });
  const position = (f: FunctionFile) => (f.after === null ? -1 : migrations.indexOf(f.after));
  return files.sort((a, b) => position(a) - position(b) || (a.name < b.name ? -1 : 1));
}
