import { defineErrors } from "../../core/errors.ts";

/** The events domain's error codes. */
export const EVENT_ERRORS = defineErrors({
  members_only: { status: 403, description: "Only members can register for events" },
  capacity_below_confirmed: {
    status: 409,
    description: "The capacity asked for is below the seats already confirmed",
  },
  unknown_committee: { status: 422, description: "The chosen committee does not exist" },
});
