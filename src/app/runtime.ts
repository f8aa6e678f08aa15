import { AuditSealer } from "../core/audit-sealer.ts";
import { removeLeftSnapshots } from "../core/backup/snapshot.ts";
import { connectPglite, connectPostgres, type Database } from "../core/db/connect.ts";
import { contentVersionsReader } from "../core/db/content-versions.ts";
import { assertNoDrift, migrationStatus } from "../core/db/migrate.ts";
import { CORE_ERRORS } from "../core/errors.ts";
import { ForegroundLoad } from "../core/foreground-load.ts";
import { ModeWatcher } from "../core/modes.ts";
import { makeAuthenticator } from "../domains/identity/authenticate.ts";
import { MailService } from "../domains/mail/mail.service.ts";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";
import { lockDataFolder } from "./data-lock.ts";
import { migrateSafely } from "./migrate-safely.ts";

/** A process's open runtime and how to close it. */
export interface Runtime extends AppContext {
  close(): Promise<void>;
}

/** Opens the database (locking the embedded folder), applies or checks migrations, and wires the
 * shared mechanisms. The server applies migrations; operator verbs require them current. */
export async function openRuntime(
  config: Config,
  options: { migrations: "apply" | "require-current" | "none"; database?: Database },
): Promise<Runtime> {
  let unlock = () => {};
  let database = options.database;
  if (!database) {
    if (config.databaseUrl) {
      database = connectPostgres(config.databaseUrl);
    } else {
      unlock = lockDataFolder(config.dataDir);
      try {
        database = await connectPglite(config.dataDir);
      } catch (error) {
        unlock();
        throw error;
      }
    }
  }
  try {
    // An embedded folder is this process's alone now: a snapshot copy beside it was left by a process
    // stopped mid-backup.
    if (!options.database) await removeLeftSnapshots(database);
    if (options.migrations === "apply") await migrateSafely(config, database);
    else if (options.migrations === "require-current") {
      const statuses = await migrationStatus(database);
      assertNoDrift(statuses);
      if (statuses.some((s) => s.state === "pending" || s.state === "outdated")) {
        throw CORE_ERRORS.migrations_pending(
          "The database is not set up for this version yet. Run `clubos migrate` (or start the server, which migrates) first.",
        );
      }
    }
  } catch (error) {
    if (!options.database) await database.close();
    unlock();
    throw error;
  }
  const modes = new ModeWatcher(database, config.modePollMs);
  const sealer = new AuditSealer(database, config.backupDir);
  const contentVersions = contentVersionsReader(database);
  const authenticate = makeAuthenticator(database, {
    idleMinutes: config.sessionIdleMinutes,
    absoluteHours: config.sessionAbsoluteHours,
  });
  const db = database;
  const foreground = new ForegroundLoad();
  const mail = new MailService(config.mail, foreground);
  return {
    config,
    database: db,
    modes,
    sealer,
    deploy: null,
    mail,
    foreground,
    authenticate,
    contentVersions,
    actionEnv: (actor, requestId) => ({
      database: db,
      actor,
      requestId,
      afterCommit: sealer.schedule,
      outboxMaxDepth: config.mail.outboxMaxDepth,
      clubName: config.clubName,
      publicUrl: config.publicUrl,
    }),
    async close() {
      await mail.stopWorker();
      await modes.stop();
      await sealer.stop();
      if (!options.database) await db.close();
      unlock();
    },
  };
}
