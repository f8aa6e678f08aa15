import { actorRef, systemActor } from "../core/actor.ts";
import { BACKUP_ERRORS } from "../core/backup/index.ts";
import type { Database } from "../core/db/connect.ts";
import { assertNoDrift, migrate, migrationStatus } from "../core/db/migrate.ts";
import { takeBackup } from "./backup-env.ts";
import type { Config } from "./config.ts";

/** What a migration run did: the files it applied and the backup taken first (none on a new database
 * or when nothing was due). */
export interface MigrationRun {
  applied: string[];
  backupId: string | null;
}

/** Applies pending migrations and changed SQL function files, after a backup of the database as it is
 * (B-1, CC-2): a migration never runs without a way back, and when the backup fails it does not run at
 * all. A database with nothing applied yet has nothing to lose and is migrated at once. */
export async function migrateSafely(config: Config, database: Database): Promise<MigrationRun> {
  const statuses = await migrationStatus(database);
  // A changed or unknown migration stops everything before any work, backup included.
  assertNoDrift(statuses);
  const due = statuses.filter((s) => s.state === "pending" || s.state === "outdated");
  if (due.length === 0) return { applied: [], backupId: null };
  const fresh = statuses.every((s) => s.state === "pending");
  let backupId: string | null = null;
  if (!fresh) {
    try {
      backupId = (await takeBackup(config, database, actorRef(systemActor("migrate")))).id;
    } catch (error) {
      throw BACKUP_ERRORS.migration_backup_failed(
        `The database was not migrated: the backup taken first failed (${(error as Error).message}). ` +
          "Fix the backup (see `clubos backup create`), then start again; nothing was changed.",
      );
    }
  }
  return { applied: await migrate(database), backupId };
}
