import { defineErrors } from "../../../core/errors.ts";

/** The member import's error codes. */
export const IMPORT_ERRORS = defineErrors({
  csv_invalid: {
    status: 400,
    description:
      "The file cannot be read as a member list (encoding, header, quoting); nothing of it was used",
  },
  file_unreadable: { status: 400, description: "The file named on the command line cannot be read" },
  import_plan_mismatch: { status: 409, description: "The confirmation does not match the dry run it names" },
  import_in_progress: {
    status: 409,
    description: "The import is being applied, or stopped part-way and waits to be resumed",
  },
  import_has_rejections: {
    status: 422,
    description: "Rows of the dry run were rejected, so nothing of the file is imported",
  },
  import_expired: {
    status: 409,
    description: "The dry run is too old to confirm, or its row details were removed by retention",
  },
  import_superseded: {
    status: 409,
    description: "The import was resumed by another run, which carries on; this one stopped",
  },
  import_not_started: {
    status: 409,
    description: "The import was never confirmed, so there is nothing to resume",
  },
});

/** A problem with the whole file: nothing in it is used. */
export const csvFileError = (message: string, line?: number) =>
  IMPORT_ERRORS.csv_invalid(`${line ? `Line ${line}: ` : ""}${message}`, line ? { line } : undefined);

/** A dry run too old to confirm. */
export const importExpired = () =>
  IMPORT_ERRORS.import_expired(
    "This dry run is more than a day old, so the members may have changed since. Upload the file again.",
  );

/** An import whose details the retention job removed: only a new upload can apply it. */
export const importDetailsRemoved = () =>
  IMPORT_ERRORS.import_expired(
    "This import expired and its row-by-row details were removed, so it can no longer be applied. " +
      "Upload the file again to import it.",
  );

/** To an applier whose import was taken over (resumed elsewhere): it stops, nothing is applied twice. */
export const importSuperseded = () =>
  IMPORT_ERRORS.import_superseded(
    "This import was resumed by another run, so this one stopped. Nothing was applied twice.",
  );

/** A confirm of an import already being applied (or cut off while it was). */
export const importBeingApplied = () =>
  IMPORT_ERRORS.import_in_progress(
    "This import is being applied, or stopped before it finished. Open its page to follow it, or to resume it if it stopped.",
  );

/** A resume of an import this process is still applying. */
export const importStillApplying = () =>
  IMPORT_ERRORS.import_in_progress(
    "This import is still being applied. Its page shows how far it got; wait for it to finish.",
  );

/** A resume of a dry run never confirmed. */
export const importNotStarted = () =>
  IMPORT_ERRORS.import_not_started(
    "This import has not been confirmed yet, so there is nothing to resume. Confirm it from its page.",
  );

/** A confirm whose file hash is not the dry run's. */
export const importPlanMismatch = () =>
  IMPORT_ERRORS.import_plan_mismatch(
    "This confirmation does not match the dry run it names. Open the dry run again and confirm from there.",
  );

/** A confirm of a dry run with rejected rows: nothing of the file is imported. */
export const importHasRejections = (lines: number[]) =>
  IMPORT_ERRORS.import_has_rejections(
    `${lines.length} row${lines.length === 1 ? " was" : "s were"} rejected (line ${lines.slice(0, 20).join(", ")}${lines.length > 20 ? ", ..." : ""}), so nothing is imported. Fix the file and upload it again.`,
    { lines },
  );
