import { type Static, Type } from "typebox";
import { Query, Text, Uuid } from "../../http/schema.ts";
import { OUTBOX_STATUSES } from "./outbox.repository.ts";

/** The outbox filters; before pages back from a message. */
export const OutboxQuery = Query({
  topic: Type.Optional(Text(200)),
  status: Type.Optional(Type.Enum(["", ...OUTBOX_STATUSES])),
  before: Type.Optional(Type.Union([Type.Literal(""), Uuid()])),
});
export type OutboxQuery = Static<typeof OutboxQuery>;
