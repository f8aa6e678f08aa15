import { isMemberStatus, type MemberStatus } from "../member-status.ts";
import { unprotectFormula } from "./csv.ts";
import { csvFileError } from "./import.errors.ts";

/* Which column means what. ClubOS's own export columns come first; Wild Apricot's contact export
 * names are accepted too, so a club can move over with the file Wild Apricot gives it. */

/** A member field an import can set. */
export type ImportField =
  | "name"
  | "first_name"
  | "last_name"
  | "email"
  | "phone"
  | "address"
  | "status"
  | "tier"
  | "joined_on"
  | "renewal_due_on";

/** The columns of a ClubOS export, in order; an export imports back with no changes. */
export const CLUBOS_COLUMNS = [
  "name",
  "email",
  "phone",
  "address",
  "status",
  "tier",
  "joined_on",
  "renewal_due_on",
] as const;

// Header names after normalise(): lower case, "_" and "-" as spaces, single spaces.
const ALIASES: Record<string, ImportField> = {
  name: "name",
  "full name": "name",
  "first name": "first_name",
  firstname: "first_name",
  "last name": "last_name",
  lastname: "last_name",
  surname: "last_name",
  email: "email",
  "e mail": "email",
  "email address": "email",
  phone: "phone",
  "phone number": "phone",
  address: "address",
  status: "status",
  "membership status": "status",
  tier: "tier",
  "membership level": "tier",
  "membership tier": "tier",
  "joined on": "joined_on",
  joined: "joined_on",
  "member since": "joined_on",
  "renewal due on": "renewal_due_on",
  "renewal due": "renewal_due_on",
  "renewal date": "renewal_due_on",
};

const normalise = (header: string) => header.trim().toLowerCase().replace(/[_-]+/g, " ").replace(/\s+/g, " ");

/** How the header maps to fields: the column index of each field, and the columns ignored. */
export interface ColumnMap {
  index: Partial<Record<ImportField, number>>;
  width: number;
  ignored: string[];
}

/** Reads the header row; a file without one (no email column) or with a column twice is refused whole. */
export function mapHeader(header: readonly string[] | undefined): ColumnMap {
  if (!header || header.every((h) => !h.trim())) throw csvFileError("The file is empty.");
  const index: ColumnMap["index"] = {};
  const ignored: string[] = [];
  header.forEach((raw, i) => {
    const field = ALIASES[normalise(raw)];
    if (!field) {
      ignored.push(raw.trim() || `(column ${i + 1} has no name)`);
      return;
    }
    if (index[field] !== undefined) {
      throw csvFileError(`Two columns ("${header[index[field]!]}" and "${raw}") both give the ${field}.`, 1);
    }
    index[field] = i;
  });
  if (index.email === undefined) {
    const hint =
      header.length === 1 && header[0]!.includes(";")
        ? ' The file seems to use semicolons; save it as "CSV UTF-8 (comma delimited)".'
        : " The first line must name the columns, e.g. name,email,phone,status.";
    throw csvFileError(`This does not look like a member list: there is no email column.${hint}`, 1);
  }
  return { index, width: header.length, ignored };
}

// Wild Apricot statuses (and ours) to ClubOS statuses. A pending renewal is still a member whose
// payment is outstanding: ClubOS keeps them active and renewal_due_on says when it was due.
const STATUS_NAMES: Record<string, MemberStatus> = {
  "pending new": "pending",
  "pending renewal": "active",
  "pending level change": "active",
  "pending upgrade": "active",
};

/** Our status for a status cell, or undefined if it names none. */
export function mapStatus(value: string): MemberStatus | undefined {
  const key = value
    .trim()
    .toLowerCase()
    .replace(/[\s\-–]+/g, " ");
  if (isMemberStatus(key)) return key;
  return STATUS_NAMES[key];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/** A date cell as YYYY-MM-DD: accepts 2026-01-31, 2026/01/31, an ISO timestamp, or 31 Jan 2026. Numeric
 * day/month orders (01/02/2026) are refused because they are ambiguous. */
export function parseDate(value: string): string | undefined {
  const v = value.trim();
  let y: number;
  let m: number;
  let d: number;
  const iso = v.match(/^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][\d:.]+Z?)?$/);
  const named = v.match(/^(\d{1,2})[\s-]+([A-Za-z]{3,9})\.?[\s-]+(\d{4})$/);
  if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (named) {
    const month = MONTHS.indexOf(named[2]!.slice(0, 3).toLowerCase());
    if (month < 0) return undefined;
    [y, m, d] = [Number(named[3]), month + 1, Number(named[1])];
  } else return undefined;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d)
    return undefined;
  return date.toISOString().slice(0, 10);
}

/** The raw values of one row by field, trimmed, formula protection undone, empty cells left out. */
export function rowValues(map: ColumnMap, fields: readonly string[]): Partial<Record<ImportField, string>> {
  const out: Partial<Record<ImportField, string>> = {};
  for (const [field, i] of Object.entries(map.index) as [ImportField, number][]) {
    const value = unprotectFormula((fields[i] ?? "").trim()).trim();
    if (value !== "") out[field] = value;
  }
  if (!out.name && (out.first_name || out.last_name)) {
    out.name = [out.first_name, out.last_name].filter(Boolean).join(" ");
  }
  return out;
}
