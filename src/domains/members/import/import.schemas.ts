import { type Static, Type } from "typebox";
import { Body, FormBody, FormText, Instant, Query, Text, Uuid } from "../../../http/schema.ts";
import { MAX_FILE_NAME } from "./plan.ts";

/* The member import's API contract: every input and output of its routes, defined once. What a file
 * must hold to be a member list (UTF-8, a header with an email column, at most 50,000 rows) is checked
 * by planImport for every caller, with the line it is on. */

/** The largest CSV a dry run takes as a text/csv body (the server's own limit binds JSON and forms). */
export const CSV_BODY_LIMIT = 10 * 1024 * 1024;

const FileName = Text(MAX_FILE_NAME, { description: "The file's name, for the admin's records" });
const Csv = Text(CSV_BODY_LIMIT, { description: "The CSV text, UTF-8, the first line naming the columns" });

/** POST /api/v1/members/import: JSON {csv, fileName}, or a text/csv body (read into {csv}). */
export const DryRunBody = Body({ csv: Csv, fileName: Type.Optional(FileName) });

/** The file name of a text/csv body, which has no field for it. */
export const DryRunQuery = Query({ fileName: Type.Optional(FileName) });

/** The upload form. */
export const DryRunForm = FormBody({ csv: FormText(CSV_BODY_LIMIT), file_name: FormText(MAX_FILE_NAME) });

/** POST /api/v1/members/import/:id/confirm: the hash of the file whose dry run is confirmed. */
export const ConfirmBody = Body({ fileHash: Type.String({ pattern: "^[0-9a-f]{64}$", maxLength: 64 }) });

/** The Confirm button's form. */
export const ConfirmForm = FormBody({ file_hash: FormText(64) });

const Values = Type.Object(
  {
    name: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    phone: Type.Optional(Type.String()),
    address: Type.Optional(Type.String()),
    tierKey: Type.Optional(Type.String()),
    joinedOn: Type.Optional(Type.String({ description: "YYYY-MM-DD" })),
    renewalDueOn: Type.Optional(Type.String({ description: "YYYY-MM-DD, or empty for none" })),
  },
  { description: "Member fields by name; only those the row sets" },
);
export type ValuesOut = Static<typeof Values>;

/** One row of a dry run and what confirm would do with it. */
export const PlannedRowOut = Type.Object({
  line: Type.Integer({ description: "The line of the file the row starts on" }),
  outcome: Type.Union([
    Type.Literal("create"),
    Type.Literal("update"),
    Type.Literal("unchanged"),
    Type.Literal("reject"),
  ]),
  email: Type.String(),
  name: Type.Optional(Type.String()),
  memberId: Type.Optional(Uuid({ description: "The member an update or unchanged row matched" })),
  changes: Type.Optional(Values),
  before: Type.Optional(Values),
  reason: Type.Optional(Type.String({ description: "Why a row is rejected" })),
});
export type PlannedRowOut = Static<typeof PlannedRowOut>;

const PlanCounts = Type.Object({
  create: Type.Integer(),
  update: Type.Integer(),
  unchanged: Type.Integer(),
  reject: Type.Integer(),
});

/** One row as applied. */
const AppliedRowOut = Type.Object({
  line: Type.Integer(),
  email: Type.String(),
  outcome: Type.Union([
    Type.Literal("created"),
    Type.Literal("updated"),
    Type.Literal("unchanged"),
    Type.Literal("conflict"),
    Type.Literal("failed"),
  ]),
  message: Type.Optional(Type.String()),
});

/** What applying a dry run did, row by row. */
export const ImportResultOut = Type.Object({
  counts: Type.Object({
    created: Type.Integer(),
    updated: Type.Integer(),
    unchanged: Type.Integer(),
    conflict: Type.Integer(),
    failed: Type.Integer(),
  }),
  rows: Type.Array(AppliedRowOut),
});
export type ImportResultOut = Static<typeof ImportResultOut>;

const PLAN_FIELDS = {
  importId: Uuid(),
  fileName: Type.String(),
  fileHash: Type.String({ description: "SHA-256 of the file; confirm sends it back" }),
  ignoredColumns: Type.Array(Type.String()),
  counts: PlanCounts,
  rows: Type.Array(PlannedRowOut, { description: "Empty once retention removed the details" }),
};

/** A dry run just stored. */
export const PlanOut = Type.Object({ ...PLAN_FIELDS, status: Type.Literal("planned") });
export type PlanOut = Static<typeof PlanOut>;

/** A stored import: its dry run, where applying it stands, and its result. */
export const ImportOut = Type.Object({
  ...PLAN_FIELDS,
  status: Type.Union([
    Type.Literal("planned"),
    Type.Literal("applying"),
    Type.Literal("applied"),
    Type.Literal("expired"),
  ]),
  result: Type.Union([ImportResultOut, Type.Null()]),
  rowsDone: Type.Integer({ description: "Rows of the plan applied so far, in order" }),
  createdAt: Instant(),
  appliedAt: Type.Union([Instant(), Type.Null()]),
  purgedAt: Type.Union([Instant(), Type.Null()], {
    description: "When retention removed the row-by-row details",
  }),
});
export type ImportOut = Static<typeof ImportOut>;

/** A confirm or resume: the import's result (replayed, and marked so, for an import already applied). */
export const AppliedOut = Type.Object({
  importId: Uuid(),
  status: Type.Literal("applied"),
  replayed: Type.Boolean(),
  result: ImportResultOut,
});
