import { defineErrors } from "../../core/errors.ts";

/** The publishing domain's error codes. */
export const PAGE_ERRORS = defineErrors({
  revision_frozen: {
    status: 409,
    description: "A published page revision and its blocks never change; edit a new draft instead",
  },
  slug_taken: { status: 409, description: "Another page already has this address" },
  no_draft: { status: 409, description: "The page has no draft to change or publish; start one first" },
  page_archived: { status: 409, description: "An archived page is kept for the record and cannot change" },
  invalid_block: { status: 422, description: "A block's fields are missing or not valid for its type" },
  invalid_audience: { status: 422, description: "The audience chosen cannot be read" },
  preview_unavailable: {
    status: 404,
    description:
      "The preview cannot be shown: the link is unknown, expired or revoked, previews are switched off, or it failed",
  },
  schedule_invalid: { status: 409, description: "A scheduled publish cannot be set or run as asked" },
  file_missing: { status: 422, description: "The upload form came without a file" },
  file_type_refused: {
    status: 415,
    description:
      "The uploaded file's content is not a kind of image or file a page takes (its name does not count)",
  },
  file_too_large: { status: 413, description: "The uploaded file is larger than the configured limit" },
});
