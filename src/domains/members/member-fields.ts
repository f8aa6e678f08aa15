import { invalidInput } from "../../core/errors.ts";
import { isMemberStatus, type MemberStatus } from "./member-status.ts";

/* The one place the rules of a member record's fields are written. Creating a member, an admin's edit
 * and a member's own edit apply them, whatever the route (form or JSON) or caller (the import, an
 * operator's script). The route schemas (members.schemas.ts) have already bounded types and lengths for
 * HTTP input. */

/** Columns a member may see and change about themselves. */
export const SELF_FIELDS = ["name", "phone", "address", "directory_opt_out"] as const;
/** Columns an admin may change with members:write (status has its own action). */
export const ADMIN_FIELDS = [
  ...SELF_FIELDS,
  "email",
  "joined_on",
  "tier_key",
  "renewal_due_on",
  "admin_notes",
] as const;
/** A field an admin may edit. */
export type AdminField = (typeof ADMIN_FIELDS)[number];

/** Changes to a member record, by column; only the fields present change. */
export type MemberChanges = Partial<{
  name: string;
  email: string;
  phone: string;
  address: string;
  directory_opt_out: boolean;
  joined_on: string;
  tier_key: string | null;
  renewal_due_on: string | null;
  admin_notes: string;
}>;

const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** An email address as stored (trimmed), or a 400 saying it is not one. */
export function checkedEmail(raw: string): string {
  const email = raw.trim();
  if (!EMAIL.test(email)) throw invalidInput(`"${email}" is not an email address.`);
  return email;
}

const LIMITS: Partial<Record<AdminField, [number, string]>> = {
  name: [200, "The name"],
  email: [320, "The email address"],
  phone: [40, "The phone number"],
  address: [500, "The address"],
  admin_notes: [5000, "The notes"],
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The fields of a new member: a name and an email address, and a status when one is given. */
export function checkNewMember(input: { name: string; email: string; status?: string }): {
  name: string;
  email: string;
  status: MemberStatus;
} {
  const email = checkedEmail(input.email);
  const name = input.name.trim();
  if (!name) throw invalidInput("A name is required.");
  if (input.status !== undefined && !isMemberStatus(input.status))
    throw invalidInput(`There is no status "${input.status}".`);
  return { name, email, status: (input.status as MemberStatus | undefined) ?? "active" };
}

/** Checks the fields a change names, each on its own; throws 400 naming the first that is wrong. */
export function checkChanges(changes: MemberChanges, allowed: readonly AdminField[]): void {
  const fields = Object.keys(changes) as AdminField[];
  const outside = fields.filter((f) => !allowed.includes(f));
  if (outside.length > 0) throw invalidInput(`These fields cannot be changed here: ${outside.join(", ")}.`);
  if (changes.name !== undefined && !changes.name.trim()) throw invalidInput("A name cannot be empty.");
  if (changes.email !== undefined) checkedEmail(changes.email);
  for (const field of ["joined_on", "renewal_due_on"] as const) {
    const value = changes[field];
    if (value && (!DATE.test(value) || Number.isNaN(Date.parse(value)))) {
      throw invalidInput(
        `${field === "joined_on" ? "The joining date" : "The renewal date"} must be a date like 2026-01-31.`,
      );
    }
  }
  if (changes.joined_on === "") throw invalidInput("The joining date must be a date like 2026-01-31.");
  for (const [field, [max, label]] of Object.entries(LIMITS) as [AdminField, [number, string]][]) {
    const value = changes[field];
    if (typeof value === "string" && value.length > max)
      throw invalidInput(`${label} is too long (at most ${max} characters).`);
  }
}

/** The value a change stores: text trimmed, an empty optional date or tier as none. */
export function storedValue(field: AdminField, value: MemberChanges[AdminField]): unknown {
  if (value === undefined) return null;
  if (typeof value !== "string") return value;
  if ((field === "renewal_due_on" || field === "tier_key") && value.trim() === "") return null;
  return value.trim();
}
