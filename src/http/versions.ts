import { CORE_ERRORS, invalidInput } from "../core/errors.ts";

/** The version a form field or an If-Match header says the writer read (W-4). Accepts 3, "v3", "\"v3\""
 * and W/"v3"; a missing value is NaN when optional and a 428 when required. */
export function versionFrom(value: unknown, required: boolean): number {
  if (value === undefined || value === "") {
    if (!required) return Number.NaN;
    throw CORE_ERRORS.precondition_required(
      "Send If-Match with the ETag you read, so a change made meanwhile is not overwritten.",
    );
  }
  const n = Number(String(value).replace(/^W\//, "").replace(/"/g, "").replace(/^v/, ""));
  if (!Number.isInteger(n) || n < 1) throw invalidInput("The version sent with the change is not valid.");
  return n;
}
