import { defineErrors } from "../errors.ts";

/** What can go wrong with a backup bundle, for the operator who has to act on it. */
export const BACKUP_ERRORS = defineErrors({
  backup_not_found: { status: 404, description: "No complete backup with that id in the backup folder" },
  backup_config_invalid: {
    status: 400,
    description: "The backup folder, copy folder or key is not usable as configured",
  },
  backup_key_mismatch: {
    status: 400,
    description: "The backup was encrypted with another key than the one given (or none was given)",
  },
  backup_damaged: {
    status: 400,
    description: "A backup file does not match its manifest: it was damaged or altered",
  },
  backup_schema_mismatch: {
    status: 409,
    description: "The backup was made by another schema version than the target database has",
  },
  restore_failed: {
    status: 500,
    description:
      "The restore could not be finished (the tables stayed busy, or one could not be rebuilt exactly as defined); it was undone",
  },
  backup_failed: { status: 500, description: "Taking the backup failed; nothing was kept" },
  migration_backup_failed: {
    status: 503,
    description: "The backup taken before a migration failed, so the migration did not run",
  },
});
