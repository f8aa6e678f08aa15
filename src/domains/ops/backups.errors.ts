import { defineErrors } from "../../core/errors.ts";

/** The operator page's backup error codes. */
export const BACKUPS_ERRORS = defineErrors({
  backup_job_running: {
    status: 409,
    description: "A backup or a drill of this kind is already running; one runs at a time",
  },
});
