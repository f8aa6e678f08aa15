import { defineErrors } from "../../core/errors.ts";

/** The incident log's error codes. */
export const INCIDENT_ERRORS = defineErrors({
  incident_review_required: {
    status: 422,
    description: "A SEV-1 incident is closed only with its review note (H-2)",
  },
  incident_closed: { status: 409, description: "The incident is already closed" },
  unknown_owner: { status: 422, description: "No active member has that email address" },
});
