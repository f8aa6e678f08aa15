import type { FastifyInstance, FastifyRequest } from "fastify";
import { invalidInput, notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { declareFormRoute } from "../../http/form-route.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import { versionFrom } from "../../http/versions.ts";
import {
  addBlock,
  archivePage,
  createPage,
  moveBlock,
  publishPage,
  removeBlock,
  rollbackPage,
  saveDraft,
  setAudience,
  startDraft,
  unpublishPage,
  updateBlock,
  updatePageSettings,
} from "./pages.actions.ts";
import { DiffView, PageEditor, PageList } from "./pages.admin.views.tsx";
import { revisionDiff, revisionText } from "./pages.presenters.ts";
import {
  audienceChoices,
  blocksOfRevision,
  draftOf,
  findPage,
  findRevision,
  latestFrozen,
  listPagesForEditor,
  navParentChoices,
  revisionHistory,
  revisionNumbered,
} from "./pages.repository.ts";
import {
  AudienceForm,
  BLOCK_PARAMS,
  BlockForm,
  CreatePageForm,
  DiffQuery,
  DraftForm,
  EditorQuery,
  type LeafRule,
  MoveForm,
  type NoticeKey,
  RollbackForm,
  SettingsForm,
  VersionForm,
} from "./pages.schemas.ts";
import { pendingScheduleOf, pendingSchedules, previewLinksOf } from "./preview.repository.ts";
import { PreviewSection } from "./preview.views.tsx";

/* The page editor's routes (no JavaScript needed). Reads need pages:edit; each form runs its action,
 * which carries its own capability (pages:edit for drafts, pages:publish for what becomes visible) and
 * effect (the publish freeze stops publishing, unpublishing, roll-backs and audience changes). */

const NOTICES: Record<NoticeKey, string> = {
  created: "The page is created as a draft. Add blocks, then publish it when it is ready.",
  saved: "Saved.",
  draft: "A new draft is started from the published content.",
  block: "The blocks are saved.",
  uploaded: "The file is uploaded, as a new block at the end of the draft.",
  audience: "Who may see it is saved. It takes effect on the site when the draft is published.",
  published: "Published: this is now what visitors its audience admits see.",
  unpublished: "The page is off the site.",
  archived: "The page is archived.",
  rolled_back: "The earlier revision is published again, as a new revision.",
};

const tz = (request: FastifyRequest) => request.server.ctx.config.timeZone;
const editorUrl = (id: string, done: NoticeKey) => `/admin/pages/${id}?done=${done}`;

/** The page a form changes and the version the editor read (W-4): every editor form carries both. */
const pageVersion = (request: { params: { id: string }; body: { version?: string } }) => ({
  pageId: request.params.id,
  version: versionFrom(request.body.version, true),
});

/** The same, with the block of the draft a block form is about. */
const blockOf = (request: { params: { id: string; blockId: string }; body: { version?: string } }) => ({
  ...pageVersion(request),
  blockId: request.params.blockId,
});

/** Values of a field a checkbox list sends once, several times or not at all. */
const many = (value: string | string[] | undefined) =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => v.trim()).filter(Boolean);

/** The audience form as a rule; "inherit" (blocks) is null. A custom choice with nothing ticked is an
 * empty combination, which the action refuses with a message. */
export function audienceFromForm(body: AudienceForm): unknown {
  switch (body.who) {
    case "inherit":
      return null;
    case "public":
      return { type: "public" };
    case "members":
      return { type: "members" };
    case "custom": {
      const rules: LeafRule[] = [];
      const statuses = many(body.statuses);
      const tiers = many(body.tiers);
      const committees = many(body.committees);
      const roles = many(body.roles);
      if (statuses.length) rules.push({ type: "statuses", statuses });
      if (tiers.length) rules.push({ type: "tiers", tiers });
      if (committees.length) rules.push({ type: "committees", committees });
      if (roles.length) rules.push({ type: "roles", roles });
      return rules.length === 1 ? rules[0] : { type: "any_of", rules };
    }
    default:
      throw invalidInput("Choose who may see it from the list.");
  }
}

/** A block form as the data of its type (checked against the type's schema by the action). */
export function blockDataFromForm(body: BlockForm): unknown {
  const t = (v: string | undefined) => (v ?? "").trim();
  switch (body.type) {
    case "heading":
      return { text: t(body.text), level: body.level === "3" ? 3 : 2 };
    case "text":
    case "members_note":
      return { markdown: (body.markdown ?? "").replace(/\r\n/g, "\n") };
    case "call_to_action":
      return { label: t(body.label), href: t(body.href), ...(t(body.text) ? { text: t(body.text) } : {}) };
    case "event_list": {
      const limit = /^\d{1,2}$/.test(t(body.limit)) ? Number(t(body.limit)) : Number.NaN;
      return { limit, ...(t(body.heading) ? { heading: t(body.heading) } : {}) };
    }
    // The file itself stays as uploaded (the action keeps it); the form changes only its texts.
    case "image":
      return { alt: t(body.alt), ...(t(body.caption) ? { caption: t(body.caption) } : {}) };
    case "file":
      return { label: t(body.label) };
    default:
      return null;
  }
}

/** The editor's routes. */
export function pageAdminRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/pages",
    capability: "pages:edit",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "Every page and news post, drafts included, and the form to create one",
    handler: async (request, reply) =>
      sendPage(
        request,
        reply,
        "Pages",
        <PageList
          page={pageContext(request)}
          pages={await listPagesForEditor(request.server.ctx.database.db)}
          scheduled={await pendingSchedules(request.server.ctx.database.db)}
        />,
      ),
  });

  declareFormRoute(app, {
    url: "/admin/pages",
    action: createPage,
    loadClass: "admin",
    summary: "Create a page or news post as a draft (once per form)",
    schema: { body: CreatePageForm },
    submit: ({ body }) => ({
      input: {
        slug: body.slug ?? "",
        title: body.title ?? "",
        kind: body.kind === "news" ? ("news" as const) : ("page" as const),
      },
      redirect: (r) => editorUrl(r.page.id, "created"),
    }),
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/pages/:id",
    capability: "pages:edit",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "One page: its draft with a form per block, its settings and its revision history",
    schema: { params: ID_PARAMS, querystring: EditorQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const row = await findPage(db, request.params.id);
      if (!row) throw notFound();
      const draft = await draftOf(db, row.id);
      const shown =
        draft ??
        (row.current_published_revision_id
          ? await findRevision(db, row.id, row.current_published_revision_id)
          : await latestFrozen(db, row.id));
      const done = request.query.done;
      const history = await revisionHistory(db, row.id);
      return sendPage(
        request,
        reply,
        shown?.title ?? row.slug,
        <PageEditor
          page={pageContext(request)}
          row={row}
          draft={draft}
          shown={shown}
          blocks={shown ? await blocksOfRevision(db, shown.id) : []}
          history={history}
          parents={await navParentChoices(db, row.id)}
          choices={await audienceChoices(db)}
          notice={done ? NOTICES[done] : undefined}
          previews={
            <PreviewSection
              page={pageContext(request)}
              pageId={row.id}
              version={row.version}
              revisions={history.map((h) => h.number)}
              shownRevision={shown?.number}
              draftNumber={draft?.number}
              links={await previewLinksOf(db, row.id)}
              schedule={await pendingScheduleOf(db, row.id)}
              canPublish={request.auth.actor.capabilities.has("pages:publish")}
            />
          }
          maxFileBytes={request.server.ctx.config.pageFileMaxBytes}
        />,
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/pages/:id/diff",
    capability: "pages:edit",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "The changes between two revisions of a page, line by line",
    schema: { params: ID_PARAMS, querystring: DiffQuery },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const row = await findPage(db, request.params.id);
      if (!row) throw notFound();
      const to = Number(request.query.to ?? "0");
      const from = Number(request.query.from ?? String(to - 1));
      const [a, b] = await Promise.all([
        revisionNumbered(db, row.id, from),
        revisionNumbered(db, row.id, to),
      ]);
      if (!a || !b) throw notFound();
      const names = {
        committees: new Map((await audienceChoices(db)).committees.map((c) => [c.id, c.name])),
      };
      const text = async (r: NonNullable<typeof a>) =>
        revisionText(r, await blocksOfRevision(db, r.id), names);
      return sendPage(
        request,
        reply,
        "Changes",
        <DiffView pageId={row.id} from={from} to={to} lines={revisionDiff(await text(a), await text(b))} />,
      );
    },
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/draft",
    action: saveDraft,
    loadClass: "admin",
    summary: "Save the draft's title and summary (409 if the page changed since the form was opened)",
    schema: { params: ID_PARAMS, body: DraftForm },
    submit: (request) => ({
      input: {
        ...pageVersion(request),
        title: request.body.title ?? "",
        summary: request.body.summary ?? "",
      },
      redirect: () => editorUrl(request.params.id, "saved"),
    }),
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/settings",
    action: updatePageSettings,
    loadClass: "admin",
    summary: "Change a page's address, its place in the navigation and a news post's date",
    schema: { params: ID_PARAMS, body: SettingsForm },
    submit: (request) => {
      const b = request.body;
      const nav = (b.navOrder ?? "").trim();
      if (nav && !/^\d{1,5}$/.test(nav))
        throw invalidInput("The place in the menu is a whole number, like 10.");
      const date = (b.publishedOn ?? "").trim();
      if (date && !/^\d{4}-\d{2}-\d{2}$/.test(date))
        throw invalidInput("The news date is a date like 2026-05-01.");
      return {
        input: {
          ...pageVersion(request),
          slug: b.slug ?? "",
          navOrder: nav ? Number(nav) : null,
          navParentId: (b.navParent ?? "").trim() || null,
          publishedOn: date || null,
        },
        redirect: () => editorUrl(request.params.id, "saved"),
      };
    },
  });

  for (const [verb, spec, done, summary] of [
    ["start-draft", startDraft, "draft", "Start a new draft as a copy of the published content"],
    [
      "publish",
      publishPage,
      "published",
      "Publish the draft: it becomes the page's one current revision, frozen",
    ],
    ["unpublish", unpublishPage, "unpublished", "Take a published page off the site"],
    ["archive", archivePage, "archived", "Archive a page: off the site and never changed again"],
  ] as const) {
    declareFormRoute(app, {
      url: `/admin/pages/:id/${verb}`,
      action: spec as typeof publishPage,
      loadClass: "admin",
      summary,
      schema: { params: ID_PARAMS, body: VersionForm },
      submit: (request) => ({
        input: { ...pageVersion(request), timeZone: tz(request) },
        redirect: () => editorUrl(request.params.id, done),
      }),
    });
  }

  declareFormRoute(app, {
    url: "/admin/pages/:id/rollback",
    action: rollbackPage,
    loadClass: "admin",
    summary: "Publish an earlier revision again, as a new revision",
    schema: { params: ID_PARAMS, body: RollbackForm },
    submit: (request) => {
      const revision = Number((request.body.revision ?? "").trim());
      if (!Number.isInteger(revision) || revision < 1)
        throw invalidInput("Choose a revision from the history.");
      return {
        input: { ...pageVersion(request), revision, timeZone: tz(request) },
        redirect: () => editorUrl(request.params.id, "rolled_back"),
      };
    },
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/audience",
    action: setAudience,
    loadClass: "admin",
    summary: "Set who may see the draft once it is published",
    schema: { params: ID_PARAMS, body: AudienceForm },
    submit: (request) => ({
      input: { ...pageVersion(request), audience: audienceFromForm(request.body) ?? { type: "public" } },
      redirect: () => editorUrl(request.params.id, "audience"),
    }),
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/blocks",
    action: addBlock,
    loadClass: "admin",
    summary: "Add a block at the end of the draft",
    schema: { params: ID_PARAMS, body: BlockForm },
    submit: (request) => ({
      input: { ...pageVersion(request), type: request.body.type ?? "" },
      redirect: () => editorUrl(request.params.id, "block"),
    }),
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/blocks/:blockId",
    action: updateBlock,
    loadClass: "admin",
    summary: "Save one block of the draft",
    schema: { params: BLOCK_PARAMS, body: BlockForm },
    submit: (request) => ({
      input: { ...blockOf(request), data: blockDataFromForm(request.body) },
      redirect: () => editorUrl(request.params.id, "block"),
    }),
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/blocks/:blockId/move",
    action: moveBlock,
    loadClass: "admin",
    summary: "Move a block of the draft up or down",
    schema: { params: BLOCK_PARAMS, body: MoveForm },
    submit: (request) => ({
      input: {
        ...blockOf(request),
        direction: request.body.direction === "up" ? ("up" as const) : ("down" as const),
      },
      redirect: () => editorUrl(request.params.id, "block"),
    }),
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/blocks/:blockId/remove",
    action: removeBlock,
    loadClass: "admin",
    summary: "Remove a block from the draft",
    schema: { params: BLOCK_PARAMS, body: VersionForm },
    submit: (request) => ({
      input: blockOf(request),
      redirect: () => editorUrl(request.params.id, "block"),
    }),
  });

  declareFormRoute(app, {
    url: "/admin/pages/:id/blocks/:blockId/audience",
    action: setAudience,
    loadClass: "admin",
    summary: "Set who may see one block of the draft (or: as the page)",
    schema: { params: BLOCK_PARAMS, body: AudienceForm },
    submit: (request) => ({
      input: { ...blockOf(request), audience: audienceFromForm(request.body) },
      redirect: () => editorUrl(request.params.id, "audience"),
    }),
  });
}
