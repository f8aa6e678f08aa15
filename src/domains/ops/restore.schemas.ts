import { FormBody, FormText } from "../../http/schema.ts";

/* The restore page's forms (REC-1..REC-4); the actions check each field in their own words. */

/** Start a restore: the backup, why, and its id typed again as the confirmation. */
export const RestoreForm = FormBody({
  backupId: FormText(100),
  reason: FormText(500),
  confirm: FormText(100),
});

/** Sign off a verified restore: what was checked, and the box that says so. */
export const SignOffForm = FormBody({ note: FormText(500), checked: FormText(5) });
