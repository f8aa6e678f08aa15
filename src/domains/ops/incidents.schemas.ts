import { Type } from "typebox";
import { FormBody, FormText, Query } from "../../http/schema.ts";

/* The incident pages' forms (the actions check every field, in their own words). */

/** Declare an incident. */
export const OpenIncidentForm = FormBody({
  severity: FormText(10),
  title: FormText(200),
  area: FormText(20),
  note: FormText(4000),
  stopWrites: FormText(5),
});

/** A note on the timeline. */
export const IncidentNoteForm = FormBody({ text: FormText(4000) });

/** A decision taken outside ClubOS. */
export const IncidentDecisionForm = FormBody({ action: FormText(200), rationale: FormText(4000) });

/** Close, with the review a SEV-1 needs. */
export const CloseIncidentForm = FormBody({ review: FormText(8000) });

/** Name an area's owner by email. */
export const AreaOwnerForm = FormBody({ area: FormText(20), email: FormText(320) });

const DONE = ["opened", "noted", "decided", "closed", "owner"] as const;
/** Which change the page just made, for its status line. */
export const IncidentDoneQuery = Query({
  done: Type.Optional(Type.Union(DONE.map((d) => Type.Literal(d)))),
});
/** A status line's key. */
export type IncidentDone = (typeof DONE)[number];
