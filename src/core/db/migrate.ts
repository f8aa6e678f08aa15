import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { ClubError } from "../errors.ts";
import type { Database } from "./connect.ts";

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

/** One migration file as found on disk. */
export interface MigrationFile {
  name: string;
  checksum: string;
  sql: string;
}

/** Where each known migration stands against the database. */
export interface MigrationStatus {
  name: string;
  state: "applied" | "pending" | "changed" | "unknown";
  appliedAt?: Date;
}

/** Reads NNNN_name.sql files in order, with their sha256 checksums. */
export function readMigrationFiles(dir = MIGRATIONS_DIR): MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((name) => {
      const text = fs.readFileSync(path.join(dir, name), "utf8");
      return { name, sql: text, checksum: createHash("sha256").update(text).digest("hex") };
    });
}

async function ensureTable(database: Database): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`.execute(
    database.db,
  );
}

/** Compares files with what the database recorded. */
export async function migrationStatus(database: Database, dir = MIGRATIONS_DIR): Promise<MigrationStatus[]> {
  await ensureTable(database);
  const applied = await database.db.selectFrom("schema_migrations").selectAll().execute();
  const byName = new Map(applied.map((row) => [row.name, row]));
  const files = readMigrationFiles(dir);
  const statuses: MigrationStatus[] = files.map((file) => {
    const row = byName.get(file.name);
    if (!row) return { name: file.name, state: "pending" };
    return {
      name: file.name,
      state: row.checksum === file.checksum ? "applied" : "changed",
      appliedAt: row.applied_at,
    };
  });
  for (const row of applied) {
    if (!files.some((f) => f.name === row.name)) {
      statuses.push({ name: row.name, state: "unknown", appliedAt: row.applied_at });
    }
  }
  return statuses;
}

/** Refuses to go on when an applied migration was edited or is missing from this build. */
export function assertNoDrift(statuses: MigrationStatus[]): void {
  const changed = statuses.filter((s) => s.state === "changed").map((s) => s.name);
  if (changed.length > 0) {
    throw new ClubError(
      "migration_changed",
      `Migration ${changed.join(", ")} was changed after it was applied. Restore the original file ` +
        "and put the change in a new migration; ClubOS will not start on an altered history.",
    );
  }
  const unknown = statuses.filter((s) => s.state === "unknown").map((s) => s.name);
  if (unknown.length > 0) {
    throw new ClubError(
      "migration_unknown",
      `The database has migration ${unknown.join(", ")} that this version of ClubOS does not know. ` +
        "It was written by a newer version: run that version, or restore a backup made before it.",
    );
  }
}

/** Applies pending migrations in order, each in its own transaction; returns their names. */
export async function migrate(database: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const statuses = await migrationStatus(database, dir);
  assertNoDrift(statuses);
  const files = readMigrationFiles(dir);
  const pending = statuses.filter((s) => s.state === "pending").map((s) => s.name);
  for (const name of pending) {
    const file = files.find((f) => f.name === name)!;
    await database.db.transaction().execute(async (trx) => {
      await sql.raw(file.sql).execute(trx);
      await trx
        .insertInto("schema_migrations")
        .values({ name: file.name, checksum: file.checksum })
        .execute();
    });
  }
  return pending;
}
