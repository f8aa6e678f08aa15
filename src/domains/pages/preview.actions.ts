import { type ActionScope, defineAction } from "../../core/action.ts";
import { type Actor, actorRef } from "../../core/actor.ts";
import { invalidInput, notFound } from "../../core/errors.ts";
import { readSystemState } from "../../core/modes.ts";
import { hashSecret, newSecret } from "../../core/secrets.ts";
import { fileOfBlock } from "./page-content.ts";
import { fileOfRevision } from "./page-files.repository.ts";
import { HOLDS_OPEN_PREVIEW_LINK, previewUnavailable, type ThroughPreviewLink } from "./pages.policies.ts";
import { blocksOfRevision, findPage, findRevision, lockPage, revisionNumbered } from "./pages.repository.ts";
import {
  findOpenPreviewLink,
  insertPreviewLink,
  revokeAllPreviewLinks,
  revokePreviewLink,
} from "./preview.repository.ts";

/* Previews of revisions that are not (or not yet) what visitors see. A share link shows ONE
 * revision to a reviewer without an account: its token is shown once and only its hash is kept, it
 * expires (24 hours unless asked otherwise, at most 7 days) and can be revoked, one by one or all at once
 * (`clubos preview revoke-all`). Every use of a link is an audited read ('page.previewed'). The preview
 * kill switch (preview_off) stops every way in: the routes declare it, and these actions read it again in
 * their own transaction, so a route that forgot it still shows nothing. */

/** How long a share link works unless the editor asks otherwise, and the longest it may. */
export const PREVIEW_LINK_HOURS = { default: 24, max: 7 * 24 } as const;

/** Who a share-link preview runs as: nobody signed in, named in the audit trail as the link. */
export const PREVIEW_LINK_ACTOR: Actor = { type: "system", name: "preview link", capabilities: new Set() };

/** Refuses when previews are switched off (or the switch cannot be read: fail closed). */
async function assertPreviewsOn(scope: ActionScope): Promise<void> {
  const state = await readSystemState(scope.trx).catch(() => null);
  if (!state || state.previewOff) throw previewUnavailable();
}

/** Makes a share link to one revision of a page; the token is in the result, shown once. */
export const createPreviewLink = defineAction({
  name: "createPreviewLink",
  access: { capability: "pages:preview" },
  effect: "admin",
  async run(scope, input: { pageId: string; revision: number; hours?: number }) {
    await assertPreviewsOn(scope);
    const hours = input.hours ?? PREVIEW_LINK_HOURS.default;
    if (!Number.isInteger(hours) || hours < 1 || hours > PREVIEW_LINK_HOURS.max)
      throw invalidInput("A preview link works for 1 to 168 hours (7 days). Choose a number in that range.");
    const page = await lockPage(scope.trx, input.pageId);
    if (!page) throw notFound();
    const revision = await revisionNumbered(scope.trx, page.id, input.revision);
    if (!revision) throw notFound();
    const token = newSecret("pv_");
    const link = await insertPreviewLink(scope.trx, {
      pageId: page.id,
      revisionId: revision.id,
      tokenHash: hashSecret(token),
      createdBy: actorRef(scope.actor),
      hours,
    });
    return {
      result: { token, linkId: link.id, expiresAt: new Date(link.expires_at), revision: revision.number },
      audit: {
        action: "page.preview_link_created",
        subjectType: "page",
        subjectId: page.id,
        after: {
          link: link.id,
          revision: revision.number,
          expiresAt: new Date(link.expires_at).toISOString(),
        },
      },
    };
  },
});

/** Revokes one share link of a page. Taking access away is allowed in every mode (a way out). */
export const revokePreviewLinkAction = defineAction({
  name: "revokePreviewLink",
  access: { capability: "pages:preview" },
  effect: "recovery",
  async run(scope, input: { pageId: string; linkId: string }) {
    const revoked = await revokePreviewLink(scope.trx, input.pageId, input.linkId, actorRef(scope.actor));
    if (!revoked) throw notFound();
    return {
      result: revoked,
      audit: {
        action: "page.preview_link_revoked",
        subjectType: "page",
        subjectId: input.pageId,
        after: { link: revoked.id },
      },
    };
  },
});

/** Revokes every share link at once (after a leak: docs/runbooks/publishing-freeze.md). */
export const revokeAllPreviewLinksAction = defineAction({
  name: "revokeAllPreviewLinks",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run(scope, input: { reason: string }) {
    const count = await revokeAllPreviewLinks(scope.trx, actorRef(scope.actor));
    return {
      result: { count },
      audit: {
        action: "page.preview_links_revoked_all",
        subjectType: "page_preview_links",
        subjectId: "all",
        after: { revoked: count, reason: input.reason },
      },
    };
  },
});

/** Part of a restore: every share link the backup brought back is revoked, as a link revoked since the
 * backup was taken would otherwise work again; editors make new ones. */
export const revokePreviewLinksAfterRestore = defineAction({
  name: "revokePreviewLinksAfterRestore",
  access: { capability: "backups:restore" },
  effect: "recovery",
  async run(scope, input: { restoreId: string }) {
    const count = await revokeAllPreviewLinks(scope.trx, actorRef(scope.actor));
    return {
      result: { count },
      audit: {
        action: "page.preview_links_revoked_by_restore",
        subjectType: "restore",
        subjectId: input.restoreId,
        after: { revoked: count },
      },
    };
  },
});

/** The revision a share link shows, with its page and blocks: an audited read, one entry per use. Only
 * the link's own revision is ever read. */
export const viewPreviewThroughLink = defineAction({
  name: "viewPreviewThroughLink",
  access: { policy: HOLDS_OPEN_PREVIEW_LINK },
  effect: "read",
  async run(scope, input: ThroughPreviewLink) {
    await assertPreviewsOn(scope);
    const link = await findOpenPreviewLink(scope.trx, hashSecret(input.token));
    if (!link) throw previewUnavailable();
    const [page, revision] = await Promise.all([
      findPage(scope.trx, link.page_id),
      findRevision(scope.trx, link.page_id, link.revision_id),
    ]);
    if (!page || !revision) throw previewUnavailable();
    const blocks = await blocksOfRevision(scope.trx, revision.id);
    return {
      result: { page, revision, blocks },
      audit: {
        action: "page.previewed",
        subjectType: "page",
        subjectId: page.id,
        after: { link: link.id, revision: revision.number },
      },
    };
  },
});

/** A file or image the share link's revision shows (a block of that revision names it), with its bytes:
 * an audited read like the page itself ('page.preview_file_viewed'). Only the link's own revision is
 * read, so a link never opens another revision's files nor the published page's; anything else is the
 * one "preview not available" answer. */
export const viewPreviewFileThroughLink = defineAction({
  name: "viewPreviewFileThroughLink",
  access: { policy: HOLDS_OPEN_PREVIEW_LINK },
  effect: "read",
  async run(scope, input: ThroughPreviewLink & { sha256: string }) {
    await assertPreviewsOn(scope);
    const link = await findOpenPreviewLink(scope.trx, hashSecret(input.token));
    if (!link) throw previewUnavailable();
    const blocks = await blocksOfRevision(scope.trx, link.revision_id);
    if (!blocks.some((b) => fileOfBlock(b) === input.sha256)) throw previewUnavailable();
    const file = await fileOfRevision(scope.trx, link.revision_id, input.sha256);
    if (!file) throw previewUnavailable();
    return {
      result: file,
      audit: {
        action: "page.preview_file_viewed",
        subjectType: "page",
        subjectId: link.page_id,
        after: { link: link.id, file: input.sha256 },
      },
    };
  },
});
