import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../../../core/db/schema.ts";
import { canTransition, MEMBER_STATUSES, TRANSITIONS } from "../member-status.ts";
import { listTiers } from "../members.repository.ts";
import { type ColumnMap, mapHeader, mapStatus, parseDate, rowValues } from "./columns.ts";
import { assertReadableText, parseCsv } from "./csv.ts";
import { csvFileError } from "./import.errors.ts";
import { membersByEmail } from "./import.repository.ts";

/** A member column an import writes. */
export type ImportColumn =
  | "name"
  | "status"
  | "phone"
  | "address"
  | "tier_key"
  | "joined_on"
  | "renewal_due_on";
/** Values by member column. */
export type ColumnValues = Partial<Record<ImportColumn, string>>;

/** What the dry run decided for one row; confirm applies exactly this. */
export interface PlannedRow {
  line: number;
  outcome: "create" | "update" | "unchanged" | "reject";
  email: string;
  name?: string;
  memberId?: string;
  /** The member's version when the plan was made: confirm refuses the row if it moved (W-4). */
  version?: number;
  /** New values: every given field for a create, only the differing ones for an update. */
  changes?: ColumnValues;
  before?: ColumnValues;
  reason?: string;
}

/** The dry run of one file: the file's hash, its columns and every row's planned outcome. */
export interface ImportPlan {
  fileHash: string;
  fileName: string;
  ignoredColumns: string[];
  rows: PlannedRow[];
  counts: Record<PlannedRow["outcome"], number>;
}

/** The most rows one file may hold; bigger lists are split. */
export const MAX_IMPORT_ROWS = 50_000;
const LOOKUP_BATCH = 500;
const LIMITS: Partial<Record<ImportColumn | "email", number>> = {
  name: 200,
  email: 320,
  phone: 40,
  address: 500,
};

/** The longest file name kept with an import. */
export const MAX_FILE_NAME = 200;

type Existing = Awaited<ReturnType<typeof membersByEmail>>[number];

/** Checks one row on its own; returns its values by column, or why it is rejected. */
function checkRow(
  map: ColumnMap,
  fields: string[],
  error: string | undefined,
  tiers: Map<string, string>,
): { email: string; name?: string; values: ColumnValues } | { email: string; reason: string } {
  const raw = rowValues(map, fields);
  const email = raw.email ?? "";
  if (error) return { email, reason: `Malformed row: ${error}.` };
  if (fields.length !== map.width)
    return {
      email,
      reason: `Malformed row: it has ${fields.length} fields but the header has ${map.width}.`,
    };
  if (!email) return { email, reason: "The email is missing." };
  if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > LIMITS.email!)
    return { email, reason: `"${email}" is not an email address.` };
  const values: ColumnValues = {};
  for (const f of ["name", "phone", "address"] as const) {
    if (raw[f] === undefined) continue;
    if (raw[f]!.length > LIMITS[f]!)
      return { email, reason: `The ${f} is longer than ${LIMITS[f]} characters.` };
    values[f] = raw[f];
  }
  if (raw.status !== undefined) {
    const status = mapStatus(raw.status);
    if (!status)
      return { email, reason: `Unknown status "${raw.status}". Use one of: ${MEMBER_STATUSES.join(", ")}.` };
    values.status = status;
  }
  if (raw.tier !== undefined) {
    const tier = tiers.get(raw.tier.toLowerCase());
    if (!tier)
      return {
        email,
        reason: `Unknown tier "${raw.tier}". Known tiers: ${[...new Set(tiers.values())].join(", ")}.`,
      };
    values.tier_key = tier;
  }
  for (const [from, to, label] of [
    ["joined_on", "joined_on", "joining date"],
    ["renewal_due_on", "renewal_due_on", "renewal date"],
  ] as const) {
    if (raw[from] === undefined) continue;
    const date = parseDate(raw[from]!);
    if (!date)
      return { email, reason: `The ${label} "${raw[from]}" is not a date; write it like 2026-01-31.` };
    values[to] = date;
  }
  return { email, name: values.name, values };
}

/** Compares a checked row with the member of the same email, if any. */
function decide(
  line: number,
  email: string,
  values: ColumnValues,
  existing: Existing | undefined,
): PlannedRow {
  if (!existing) {
    if (!values.name) return { line, outcome: "reject", email, reason: "A new member needs a name." };
    return { line, outcome: "create", email, name: values.name, changes: { status: "active", ...values } };
  }
  const base = { line, email, name: existing.name, memberId: existing.id, version: existing.version };
  if (existing.deleted_at) {
    return {
      ...base,
      outcome: "reject",
      reason: "This email belongs to a deleted member: restore the member first, then import again.",
    };
  }
  const current: ColumnValues = {
    name: existing.name,
    status: existing.status,
    phone: existing.phone,
    address: existing.address,
    tier_key: existing.tier_key ?? "",
    joined_on: existing.joined_on,
    renewal_due_on: existing.renewal_due ?? "",
  };
  const changes: ColumnValues = {};
  const before: ColumnValues = {};
  for (const [column, value] of Object.entries(values) as [ImportColumn, string][]) {
    if (current[column] === value) continue;
    changes[column] = value;
    before[column] = current[column];
  }
  if (changes.status && !canTransition(existing.status, changes.status)) {
    const next = TRANSITIONS[existing.status as keyof typeof TRANSITIONS] ?? [];
    return {
      ...base,
      outcome: "reject",
      reason: `A member who is ${existing.status} cannot become ${changes.status}; from ${existing.status} the next status can be: ${next.join(", ") || "none"}.`,
    };
  }
  if (Object.keys(changes).length === 0) return { ...base, outcome: "unchanged" };
  return { ...base, outcome: "update", changes, before };
}

/** The dry run (W-5): reads the file and the members it names, and decides every row. Writes nothing. */
export async function planImport(db: Kysely<DB>, text: string, fileName = ""): Promise<ImportPlan> {
  assertReadableText(text);
  const records = parseCsv(text);
  const [header, ...data] = records;
  if (header?.error) throw csvFileError(`The header row is malformed: ${header.error}.`, header.line);
  const map = mapHeader(header?.fields);
  if (data.length === 0) throw csvFileError("The file has a header but no members in it.");
  if (data.length > MAX_IMPORT_ROWS)
    throw csvFileError(`The file has ${data.length} rows; import at most ${MAX_IMPORT_ROWS} at a time.`);

  const tiers = new Map<string, string>();
  for (const t of await listTiers(db)) {
    tiers.set(t.key.toLowerCase(), t.key);
    tiers.set(t.name.toLowerCase(), t.key);
  }
  const checked = data.map((r) => ({ line: r.line, ...checkRow(map, r.fields, r.error, tiers) }));
  const linesByEmail = new Map<string, number[]>();
  for (const row of checked) {
    if (!("values" in row)) continue;
    const key = row.email.toLowerCase();
    linesByEmail.set(key, [...(linesByEmail.get(key) ?? []), row.line]);
  }
  const wanted = [...linesByEmail.keys()];
  const existing = new Map<string, Existing>();
  for (let i = 0; i < wanted.length; i += LOOKUP_BATCH) {
    for (const m of await membersByEmail(db, wanted.slice(i, i + LOOKUP_BATCH)))
      existing.set(m.email.toLowerCase(), m);
  }

  const rows = checked.map((row): PlannedRow => {
    if ("reason" in row) return { line: row.line, outcome: "reject", email: row.email, reason: row.reason };
    const lines = linesByEmail.get(row.email.toLowerCase())!;
    if (lines.length > 1) {
      const others = lines.filter((l) => l !== row.line).join(", ");
      return {
        line: row.line,
        outcome: "reject",
        email: row.email,
        reason: `The email is also on line ${others}.`,
      };
    }
    return decide(row.line, row.email, row.values, existing.get(row.email.toLowerCase()));
  });
  const counts = { create: 0, update: 0, unchanged: 0, reject: 0 };
  for (const row of rows) counts[row.outcome]++;
  return {
    fileHash: createHash("sha256").update(text).digest("hex"),
    // By characters, not UTF-16 units, so an emoji at the cut is never halved into unstorable text.
    fileName: Array.from(fileName).slice(0, MAX_FILE_NAME).join(""),
    ignoredColumns: map.ignored,
    rows,
    counts,
  };
}
