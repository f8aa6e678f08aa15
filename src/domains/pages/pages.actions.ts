import { createHash } from "node:crypto";
import { type ActionScope, defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import type { AuditDraft } from "../../core/audit.ts";
import { fieldsChangedSince } from "../../core/audit.ts";
import { conflict, notFound, sqlState } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import {
  audienceIsValid,
  BLOCK_NAMES,
  blockIsValid,
  checkSlug,
  checkTitle,
  fileOfBlock,
  isBlockType,
  isFileBlockType,
  NEW_BLOCK,
} from "./page-content.ts";
import { ACCEPTED_WORDS, acceptedType, cleanFileName } from "./page-file-types.ts";
import { attachFile, detachIfUnused, keepContent } from "./page-files.repository.ts";
import { PAGE_ERRORS } from "./pages.errors.ts";
import {
  appendBlock,
  blocksOfRevision,
  copyRevision,
  deleteBlock,
  draftOf,
  findBlock,
  findRevision,
  freezeRevision,
  hasNavChildren,
  insertPage,
  latestFrozen,
  lockPage,
  type PageRow,
  type RevisionRow,
  revisionNumbered,
  slugTaken,
  swapPositions,
  today,
  touchPage,
  updateBlockAudience,
  updateBlockData,
  updateRevisionAudience,
  updateRevisionText,
} from "./pages.repository.ts";

/* Editing and publishing pages (INV-4, INV-5). Editors (pages:edit) work on the page's one draft;
 * publishers (pages:publish) make a revision visible, take it away, roll back and set audiences. Every
 * action locks the page and checks the version its form read (W-4), so two editors never overwrite each
 * other. A published revision is frozen: the actions refuse to change it (revision_frozen), and the
 * database triggers refuse it too (clubos_page_revision_frozen, clubos_page_part_frozen). */

const EDIT = { capability: "pages:edit" } as const;
const PUBLISH = { capability: "pages:publish" } as const;
/** The audit entries that carry a page's changes (they name the version they made). */
const PAGE_CHANGES = [
  "page.created",
  "page.draft_saved",
  "page.draft_started",
  "page.block_added",
  "page.file_uploaded",
  "page.block_changed",
  "page.block_moved",
  "page.block_removed",
  "page.audience_changed",
  "page.settings_changed",
  "page.published",
  "page.unpublished",
  "page.archived",
  "page.rolled_back",
];

/** The page, locked, or 404; refused with 409 naming what changed when the version is stale (W-4). */
export async function lockCurrent(scope: ActionScope, pageId: string, version: number): Promise<PageRow> {
  const page = await lockPage(scope.trx, pageId);
  if (!page) throw notFound();
  if (page.version !== version) {
    const changed = await fieldsChangedSince(scope.trx, { type: "page", id: pageId }, version, PAGE_CHANGES);
    throw conflict(
      `Someone changed this page after you opened it${changed.length ? ` (${changed.join(", ")})` : ""}. ` +
        "Nothing was saved: reload to see the page as it is now, then make your change again.",
      { currentVersion: page.version, changedFields: changed },
    );
  }
  if (page.status === "archived")
    throw PAGE_ERRORS.page_archived("This page is archived, so it can no longer be changed or published.");
  return page;
}

/** The application's half of the freeze (the triggers are the other): nothing writes to a published
 * revision. */
function assertNotFrozen(revision: { frozen: boolean }): void {
  if (revision.frozen)
    throw PAGE_ERRORS.revision_frozen(
      "This version of the page is published, and published versions never change. " +
        "Start a new draft from it, make your change there, then publish the draft.",
    );
}

/** The page's draft, to write to; 409 when it has none. */
export async function writableDraft(scope: ActionScope, page: PageRow): Promise<RevisionRow> {
  const draft = await draftOf(scope.trx, page.id);
  if (!draft)
    throw PAGE_ERRORS.no_draft(
      "This page has no draft: its content is what is published. Start a new draft to change it.",
    );
  assertNotFrozen(draft);
  return draft;
}

/** A block of this page's draft, to write to: 404 when it is not this page's, 409 when its revision is
 * published. */
async function writableBlock(scope: ActionScope, page: PageRow, blockId: string) {
  const block = await findBlock(scope.trx, blockId);
  if (!block || block.page_id !== page.id) throw notFound();
  assertNotFrozen(block);
  return block;
}

/** What one change of a draft's blocks did: what the action returns (given the page as the change left
 * it), the audit entry's changes and, where something was replaced, what was there before. */
interface BlockChange<R> {
  result: (after: PageRow) => R;
  changes: Record<string, unknown>;
  before?: Record<string, unknown>;
}

type PageInput = { pageId: string; version: number };

/** The one shape of every block edit (W-4, INV-4): lock the page at the version its form read, take the
 * draft's block the input names (404 when it is not this page's, 409 when published) or, with no block
 * named, the draft itself (to add one), make the change, move the page's version on, and audit the change
 * under the new version. */
async function changeBlock<R>(
  scope: ActionScope,
  input: PageInput & { blockId: string },
  auditAction: string,
  change: (block: Awaited<ReturnType<typeof writableBlock>>) => Promise<BlockChange<R>>,
): Promise<{ result: R; audit: AuditDraft }>;
async function changeBlock<R>(
  scope: ActionScope,
  input: PageInput,
  auditAction: string,
  change: (draft: RevisionRow) => Promise<BlockChange<R>>,
): Promise<{ result: R; audit: AuditDraft }>;
async function changeBlock<R>(
  scope: ActionScope,
  input: PageInput & { blockId?: string },
  auditAction: string,
  // biome-ignore lint/suspicious/noExplicitAny: the overloads above type the callback.
  change: (target: any) => Promise<BlockChange<R>>,
): Promise<{ result: R; audit: AuditDraft }> {
  const page = await lockCurrent(scope, input.pageId, input.version);
  const target =
    input.blockId === undefined
      ? await writableDraft(scope, page)
      : await writableBlock(scope, page, input.blockId);
  const done = await change(target);
  const after = await touchPage(scope.trx, page.id);
  return {
    result: done.result(after),
    audit: pageAudit(auditAction, after, done.changes, done.before ? { before: done.before } : {}),
  };
}

/** The audit entry of a page change: the version it made and what it changed (read by a stale form's 409). */
function pageAudit(
  action: string,
  page: { id: string; version: number },
  changes: Record<string, unknown>,
  extra: Partial<AuditDraft> & { status?: string; published?: Record<string, unknown> } = {},
): AuditDraft {
  const { status, published, ...rest } = extra;
  return {
    action,
    subjectType: "page",
    subjectId: page.id,
    after: {
      version: page.version,
      changes,
      ...(status ? { status } : {}),
      ...(published ? { published } : {}),
    },
    ...rest,
  };
}

/** The refusal for a slug another page has. */
const slugTakenError = (slug: string) =>
  PAGE_ERRORS.slug_taken(`Another page already has the address "${slug}". Choose another one.`);

/** Creates a page (or news post) with an empty draft; nothing is visible until it is published. */
export const createPage = defineAction({
  name: "createPage",
  access: EDIT,
  effect: "admin",
  async run(scope, input: { slug: string; title: string; kind: "page" | "news" }) {
    const slug = checkSlug(input.slug);
    const title = checkTitle(input.title);
    if (await slugTaken(scope.trx, slug)) throw slugTakenError(slug);
    const { page, revision } = await insertPage(scope.trx, {
      slug,
      title,
      kind: input.kind === "news" ? "news" : "page",
      createdBy: actorRef(scope.actor),
    }).catch((error) => {
      if (sqlState(error) === "23505") throw slugTakenError(slug);
      throw error;
    });
    return {
      result: { page, revision },
      audit: pageAudit("page.created", page, { slug, title, kind: page.kind }),
    };
  },
});

/** Starts a new draft as a copy of what is published (or of the newest published revision). */
export const startDraft = defineAction({
  name: "startDraft",
  access: EDIT,
  effect: "admin",
  async unchanged(scope, input: { pageId: string; version: number }) {
    const page = await lockPage(scope.trx, input.pageId);
    if (!page || page.version !== input.version) return undefined;
    return (await draftOf(scope.trx, page.id)) ? page : undefined;
  },
  async run(scope, input: { pageId: string; version: number }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    if (await draftOf(scope.trx, page.id))
      return { result: page, audit: pageAudit("page.draft_started", page, {}) };
    const source = page.current_published_revision_id
      ? await findRevision(scope.trx, page.id, page.current_published_revision_id)
      : await latestFrozen(scope.trx, page.id);
    if (!source) throw notFound();
    const draft = await copyRevision(scope.trx, source, actorRef(scope.actor));
    const after = await touchPage(scope.trx, page.id);
    return {
      result: after,
      audit: pageAudit(
        "page.draft_started",
        after,
        { "new draft": draft.number },
        { before: { from: source.number } },
      ),
    };
  },
});

/** Saves the draft's title and summary. */
export const saveDraft = defineAction({
  name: "saveDraft",
  access: EDIT,
  effect: "admin",
  async run(scope, input: { pageId: string; version: number; title: string; summary: string }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    const draft = await writableDraft(scope, page);
    const title = checkTitle(input.title);
    const summary = input.summary.trim();
    if (summary.length > 1000)
      throw PAGE_ERRORS.invalid_block("The summary is longer than 1,000 characters. Shorten it.");
    const changes: Record<string, unknown> = {};
    if (title !== draft.title) changes.title = title;
    if (summary !== draft.summary) changes.summary = summary;
    await updateRevisionText(scope.trx, draft.id, title, summary);
    const after = await touchPage(scope.trx, page.id);
    return {
      result: after,
      audit: pageAudit("page.draft_saved", after, changes, {
        before: { title: draft.title, summary: draft.summary },
      }),
    };
  },
});

/** Adds a block of a type at the end of the draft. */
export const addBlock = defineAction({
  name: "addBlock",
  access: EDIT,
  effect: "admin",
  async run(scope, input: { pageId: string; version: number; type: string }) {
    if (!isBlockType(input.type))
      throw PAGE_ERRORS.invalid_block(`"${input.type}" is not a kind of block. Choose one from the list.`);
    if (isFileBlockType(input.type))
      throw PAGE_ERRORS.invalid_block(
        `A ${BLOCK_NAMES[input.type].toLowerCase()} block is added with its file: use the upload form below.`,
      );
    const type = input.type;
    return changeBlock(scope, input, "page.block_added", async (draft) => {
      const block = await appendBlock(scope.trx, draft.id, { type, data: NEW_BLOCK[type] });
      return { result: (page) => ({ page, block }), changes: { blocks: `${BLOCK_NAMES[type]} added` } };
    });
  },
});

/** Changes a block's data; the data must fit the block's type. */
export const updateBlock = defineAction({
  name: "updateBlock",
  access: EDIT,
  effect: "admin",
  async run(scope, input: { pageId: string; version: number; blockId: string; data: unknown }) {
    return changeBlock(scope, input, "page.block_changed", async (block) => {
      // A file block keeps the file it was uploaded with: a form cannot point it at another file.
      const data = isFileBlockType(block.type)
        ? { ...(input.data as object), file: fileOfBlock(block) }
        : input.data;
      if (!blockIsValid({ type: block.type, data }))
        throw PAGE_ERRORS.invalid_block(
          "Some of this block's fields are missing or not valid (a heading needs its text, a link must start " +
            "with /, http://, https:// or mailto:). Nothing was saved; correct them and save again.",
        );
      await updateBlockData(scope.trx, block.id, data);
      return {
        result: (page) => page,
        changes: { blocks: `block ${block.position} changed` },
        before: { position: block.position, data: block.data },
      };
    });
  },
});

/** Uploads an image (with its alt text) or a file (with its link text) as a new block at the end of the
 * draft. The file is checked by its content, not its name, and by size; its bytes are kept once by
 * their sha256, and the draft carries them as one of its files. */
export const uploadPageFile = defineAction({
  name: "uploadPageFile",
  access: EDIT,
  effect: "admin",
  async run(
    scope,
    input: {
      pageId: string;
      version: number;
      kind: string;
      fileName: string;
      bytes: Uint8Array;
      maxBytes: number;
      text: string;
      caption?: string;
    },
  ) {
    if (!isFileBlockType(input.kind))
      throw PAGE_ERRORS.invalid_block("Choose whether this is an image or a file to download.");
    const kind = input.kind;
    if (input.bytes.length === 0)
      throw PAGE_ERRORS.file_missing("No file came with the form. Choose a file, then upload it again.");
    if (input.bytes.length > input.maxBytes) throw fileTooLarge(input.maxBytes);
    const text = input.text.trim();
    if (!text)
      throw PAGE_ERRORS.invalid_block(
        kind === "image"
          ? "An image needs a short description (alt text) for people who cannot see it. Write one and upload again."
          : 'A file needs the text of its link, like "Membership form (PDF)". Write it and upload again.',
      );
    const contentType = await acceptedType(kind, input.bytes);
    if (!contentType)
      throw PAGE_ERRORS.file_type_refused(
        `This file's content is not ${ACCEPTED_WORDS[kind]}, whatever its name says, so it was not uploaded. ` +
          "Save it in one of those formats and upload it again.",
      );
    return changeBlock(scope, input, "page.file_uploaded", async (draft) => {
      const sha256 = createHash("sha256").update(input.bytes).digest("hex");
      const fileName = cleanFileName(input.fileName, kind === "image" ? "image" : "file");
      const caption = input.caption?.trim();
      const data =
        kind === "image"
          ? { file: sha256, alt: text, ...(caption ? { caption } : {}) }
          : { file: sha256, label: text };
      if (!blockIsValid({ type: kind, data }))
        throw PAGE_ERRORS.invalid_block(
          "The description or link text is too long (at most 300 characters for images, 100 for files). Shorten it.",
        );
      await keepContent(scope.trx, { sha256, contentType, bytes: input.bytes });
      await attachFile(scope.trx, {
        revisionId: draft.id,
        sha256,
        fileName,
        createdBy: actorRef(scope.actor),
      });
      const block = await appendBlock(scope.trx, draft.id, { type: kind, data });
      return {
        result: (page) => ({ page, block, sha256 }),
        changes: {
          blocks: `${BLOCK_NAMES[kind]} added`,
          file: { sha256, fileName, contentType, size: input.bytes.length },
        },
      };
    });
  },
});

/** The refusal for a file over the limit, with the limit in words. */
export function fileTooLarge(maxBytes: number) {
  const mb = (maxBytes / (1024 * 1024)).toLocaleString("en-GB", { maximumFractionDigits: 1 });
  return PAGE_ERRORS.file_too_large(
    `This file is larger than ${mb} MB, the most a page can take, so it was not uploaded. ` +
      "Make it smaller (for a photo, a smaller size or a JPEG), then upload it again.",
  );
}

/** Moves a block one place up or down. */
export const moveBlock = defineAction({
  name: "moveBlock",
  access: EDIT,
  effect: "admin",
  async run(scope, input: { pageId: string; version: number; blockId: string; direction: "up" | "down" }) {
    return changeBlock(scope, input, "page.block_moved", async (block) => {
      const count = (await blocksOfRevision(scope.trx, block.revision_id)).length;
      const to = input.direction === "up" ? block.position - 1 : block.position + 1;
      if (to < 1 || to > count)
        throw conflict(`This block is already the ${input.direction === "up" ? "first" : "last"} one.`);
      await swapPositions(scope.trx, block.revision_id, block.position, to);
      return { result: (page) => page, changes: { blocks: `block ${block.position} moved to ${to}` } };
    });
  },
});

/** Removes a block from the draft. */
export const removeBlock = defineAction({
  name: "removeBlock",
  access: EDIT,
  effect: "admin",
  async run(scope, input: { pageId: string; version: number; blockId: string }) {
    return changeBlock(scope, input, "page.block_removed", async (block) => {
      await deleteBlock(scope.trx, block);
      const file = fileOfBlock(block);
      if (file) await detachIfUnused(scope.trx, block.revision_id, file);
      return {
        result: (page) => page,
        changes: { blocks: `block ${block.position} removed` },
        before: { position: block.position, type: block.type, data: block.data },
      };
    });
  },
});

/** Sets who may see the draft (once published), or one of its blocks (null: as the page). Deciding who
 * sees what is a publisher's call, and stopped by the publish freeze. */
export const setAudience = defineAction({
  name: "setAudience",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; version: number; blockId?: string; audience: unknown }) {
    const forBlock = input.blockId !== undefined;
    if (!(forBlock && input.audience === null) && !audienceIsValid(input.audience))
      throw PAGE_ERRORS.invalid_audience(
        "That audience cannot be used: choose who may see it, and tick at least one status, tier, committee or role where asked.",
      );
    const changes = { audience: input.audience, ...(forBlock ? { block: input.blockId } : {}) };
    if (input.blockId !== undefined)
      return changeBlock(
        scope,
        { ...input, blockId: input.blockId },
        "page.audience_changed",
        async (block) => {
          await updateBlockAudience(scope.trx, block.id, input.audience);
          return { result: (page) => page, changes, before: { audience: block.audience } };
        },
      );
    return changeBlock(scope, input, "page.audience_changed", async (draft) => {
      await updateRevisionAudience(scope.trx, draft.id, input.audience);
      return { result: (page) => page, changes, before: { audience: draft.audience } };
    });
  },
});

/** Changes where the page is: its address, its place in the navigation, a news post's date. */
export const updatePageSettings = defineAction({
  name: "updatePageSettings",
  access: EDIT,
  effect: "admin",
  async run(
    scope,
    input: {
      pageId: string;
      version: number;
      slug: string;
      navOrder: number | null;
      navParentId: string | null;
      publishedOn: string | null;
    },
  ) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    const slug = checkSlug(input.slug);
    if (slug !== page.slug && (await slugTaken(scope.trx, slug, page.id))) throw slugTakenError(slug);
    if (input.navParentId !== null) {
      const parent = UUID.test(input.navParentId) ? await lockPage(scope.trx, input.navParentId) : undefined;
      if (!parent || parent.id === page.id || parent.nav_parent_id !== null)
        throw conflict("A page can only sit under another top-level page. Choose one from the list.");
      if (await hasNavChildren(scope.trx, page.id))
        throw conflict("Pages sit under this one, so it cannot itself sit under another page.");
    }
    const values = {
      slug,
      nav_order: input.navOrder,
      nav_parent_id: input.navParentId,
      published_on: input.publishedOn,
    };
    const changes = Object.fromEntries(
      Object.entries(values).filter(([k, v]) => String(page[k as keyof PageRow] ?? "") !== String(v ?? "")),
    );
    const after = await touchPage(scope.trx, page.id, values);
    return { result: after, audit: pageAudit("page.settings_changed", after, changes) };
  },
});

/** Checks every block and the audience of a revision before it is frozen: nothing is published that the
 * renderer would refuse. */
async function assertPublishable(scope: ActionScope, revision: RevisionRow): Promise<void> {
  if (!audienceIsValid(revision.audience))
    throw PAGE_ERRORS.invalid_audience("The page's audience cannot be read. Choose who may see it again.");
  for (const block of await blocksOfRevision(scope.trx, revision.id)) {
    const audienceOk = block.audience === null || audienceIsValid(block.audience);
    if (!blockIsValid(block) || !audienceOk)
      throw PAGE_ERRORS.invalid_block(
        `Block ${block.position} is not complete or not valid, so the page cannot be published. Correct it first.`,
      );
  }
}

/** Makes the revision the page's one current published revision (INV-4) and freezes it. */
export async function makeCurrent(
  scope: ActionScope,
  page: PageRow,
  revision: RevisionRow,
  timeZone: string,
) {
  await assertPublishable(scope, revision);
  const frozen = await freezeRevision(scope.trx, revision.id, actorRef(scope.actor));
  const publishedOn =
    page.kind === "news" && !page.published_on ? await today(scope.trx, timeZone) : undefined;
  const after = await touchPage(scope.trx, page.id, {
    status: "published",
    current_published_revision_id: frozen.id,
    ...(publishedOn ? { published_on: publishedOn } : {}),
  });
  return { frozen, after };
}

/** Publishes the draft: from now on it is what its audience sees, and it never changes. */
export const publishPage = defineAction({
  name: "publishPage",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; version: number; timeZone: string }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    const draft = await writableDraft(scope, page);
    const { frozen, after } = await makeCurrent(scope, page, draft, input.timeZone);
    return {
      result: after,
      audit: pageAudit(
        "page.published",
        after,
        { "published revision": frozen.number },
        {
          status: "published",
          published: { revision: frozen.number, contentHash: frozen.content_hash },
          before: { status: page.status },
        },
      ),
    };
  },
});

/** Takes a published page off the site; its revisions stay, and it can be published again from a draft. */
export const unpublishPage = defineAction({
  name: "unpublishPage",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; version: number }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    if (page.status !== "published")
      throw conflict("This page is not published, so there is nothing to take down.");
    const after = await touchPage(scope.trx, page.id, {
      status: "unpublished",
      current_published_revision_id: null,
    });
    return {
      result: after,
      audit: pageAudit(
        "page.unpublished",
        after,
        {},
        { status: "unpublished", before: { status: page.status } },
      ),
    };
  },
});

/** Archives a page: off the site, kept for the record, never changed again. */
export const archivePage = defineAction({
  name: "archivePage",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; version: number }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    const after = await touchPage(scope.trx, page.id, {
      status: "archived",
      current_published_revision_id: null,
    });
    return {
      result: after,
      audit: pageAudit("page.archived", after, {}, { status: "archived", before: { status: page.status } }),
    };
  },
});

/** Publishes an earlier revision again, as a new revision (the history keeps every step); a draft in
 * progress stays as it is. */
export const rollbackPage = defineAction({
  name: "rollbackPage",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; version: number; revision: number; timeZone: string }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    const source = await revisionNumbered(scope.trx, page.id, input.revision);
    if (!source?.frozen)
      throw conflict(
        `Revision ${input.revision} was never published, so the page cannot be rolled back to it.`,
      );
    const copy = await copyRevision(scope.trx, source, actorRef(scope.actor));
    const { frozen, after } = await makeCurrent(scope, page, copy, input.timeZone);
    return {
      result: after,
      audit: pageAudit(
        "page.rolled_back",
        after,
        { "published revision": frozen.number },
        {
          status: "published",
          published: { revision: frozen.number, contentHash: frozen.content_hash, from: source.number },
          before: { status: page.status, revision: page.current_published_revision_id },
        },
      ),
    };
  },
});
