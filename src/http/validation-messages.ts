import { STORABLE } from "./schema.ts";

/** One schema complaint as Ajv reports it (the fields we read). */
export interface ValidationIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const PLACES: Record<string, string> = {
  body: "",
  querystring: " in the address",
  params: " in the address",
  headers: " in the request headers",
};

/** The field an issue is about, as the person filled it in ("email", "end time"): the last part of its
 * path, or the missing or unexpected property's name. */
function fieldOf(issue: ValidationIssue): string {
  const named = issue.params.missingProperty ?? issue.params.additionalProperty;
  const last = String(named ?? issue.instancePath.split("/").filter(Boolean).pop() ?? "");
  if (last === "" || /^\d+$/.test(last)) return "a value";
  return `"${last
    .replace(/_/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()}"`;
}

/** What is wrong with one field, in words a volunteer can act on (the schema keyword says which rule). */
export function describeIssue(issue: ValidationIssue): string {
  const field = fieldOf(issue);
  const p = issue.params;
  switch (issue.keyword) {
    case "required":
      return `${field} is missing`;
    case "additionalProperties":
      return `${field} is not something this form or address takes`;
    case "maxLength":
      return `${field} is too long (at most ${p.limit} characters)`;
    case "minLength":
      return Number(p.limit) <= 1
        ? `${field} is empty`
        : `${field} is too short (at least ${p.limit} characters)`;
    case "pattern":
      return p.pattern === STORABLE
        ? `${field} contains a character that cannot be stored (such as a NUL or a broken emoji)`
        : `${field} is not in the expected form`;
    case "type":
      return p.type === "array" || p.type === "object"
        ? `${field} has the wrong shape`
        : `${field} ${p.type === "string" ? "should be text, given once" : `should be a ${p.type}`}`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `${field} is out of range`;
    case "enum":
    case "const":
    case "anyOf":
    case "oneOf":
      return `${field} is not one of the accepted values`;
    case "format":
      return `${field} is not a valid ${p.format}`;
    case "maxItems":
    case "maxProperties":
      return `${field} has too many entries`;
    default:
      return `${field} is not valid`;
  }
}

/** The sentence shown for a refused request: every distinct problem, in order, at most five. */
export function describeValidation(issues: readonly ValidationIssue[], context: string | undefined): string {
  const where = PLACES[context ?? "body"] ?? "";
  const parts = [...new Set(issues.map(describeIssue))];
  const shown = parts.slice(0, 5).join("; ");
  const more = parts.length > 5 ? `; and ${parts.length - 5} more` : "";
  return `Some of what you sent${where} is not valid: ${shown}${more}. Please correct it and try again.`;
}
