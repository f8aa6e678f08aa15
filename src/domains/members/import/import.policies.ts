import { definePolicy } from "../../../core/access.ts";
import { importMadeBy } from "./import.repository.ts";

/** An import is its author's: its dry run holds the rows of a whole file (names, emails, changes), so
 * another admin neither sees nor applies it; to them it does not exist. */
export const MADE_THE_IMPORT = definePolicy<{ importId: string }>({
  name: "members.made-the-import",
  description: "whoever uploaded the import; to anyone else it does not exist",
  allows: ({ db, actor }, input) => importMadeBy(db, input.importId, actor),
  denial: "not_found",
});
