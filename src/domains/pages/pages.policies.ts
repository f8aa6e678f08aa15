import { definePolicy } from "../../core/access.ts";
import { hashSecret } from "../../core/secrets.ts";
import { PAGE_ERRORS } from "./pages.errors.ts";
import { findOpenPreviewLink } from "./preview.repository.ts";

/** What a preview through a share link names: the link's token. */
export interface ThroughPreviewLink {
  token: string;
}

/** The one answer for a preview that cannot be shown, whatever the reason: the same for a token that
 * never existed, so nothing can be learnt by trying tokens, and never the published page instead. */
export const previewUnavailable = () =>
  PAGE_ERRORS.preview_unavailable(
    "This preview cannot be shown. The link may have expired or been withdrawn, or previews are switched " +
      "off for now. Ask the person who sent it for a new link.",
  );

/** The token names a share link that still works (not revoked, not expired), checked again inside the
 * preview's own transaction. */
export const HOLDS_OPEN_PREVIEW_LINK = definePolicy<ThroughPreviewLink>({
  name: "pages.holds-open-preview-link",
  description: "anyone holding a share link that is neither expired nor revoked",
  async allows({ db }, input) {
    return (await findOpenPreviewLink(db, hashSecret(input.token))) !== undefined;
  },
  refusal: previewUnavailable,
});
