import { FormBody, FormText } from "../../http/schema.ts";

/** The operator page's start form: which job, "backup" or "backup-drill" (the action checks it). */
export const BackupRunForm = FormBody({ job: FormText(20) });

/** The jobs an operator may start from the operator page, and their names for people. */
export const BACKUP_JOBS = { backup: "backup", "backup-drill": "restore drill" } as const;
/** A job the operator page starts. */
export type BackupJobName = keyof typeof BACKUP_JOBS;
