import { type Static, type TProperties, Type } from "typebox";
import { ROLES } from "../../core/capabilities.ts";
import { CalendarDate, FormBody, FormText, Instant, Query, Text, Uuid } from "../../http/schema.ts";
import { MemberStatusValue } from "../members/members.schemas.ts";

/* The publishing contract: audience rules, block data per block type, and the editor's forms. Stored
 * JSON (a revision's audience, a block's data) is checked against these same schemas when it is read
 * back, so anything that does not match denies (audiences) or is not shown (blocks). */

const closed = { additionalProperties: false } as const;
const list = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Array(item, { minItems: 1, maxItems: 50, uniqueItems: true });

/** A membership tier's key (membership_tiers.key). */
const TierKey = Type.String({ pattern: "^[a-z][a-z0-9_]*$", maxLength: 40 });
const RoleKey = Type.Unsafe<string>({ type: "string", enum: Object.keys(ROLES) });

/** The rules an audience can be made of, without combination. */
const LEAF_RULES = [
  Type.Object({ type: Type.Literal("public") }, closed),
  Type.Object({ type: Type.Literal("members") }, closed),
  Type.Object({ type: Type.Literal("statuses"), statuses: list(MemberStatusValue) }, closed),
  Type.Object({ type: Type.Literal("tiers"), tiers: list(TierKey) }, closed),
  Type.Object({ type: Type.Literal("committees"), committees: list(Uuid()) }, closed),
  Type.Object({ type: Type.Literal("roles"), roles: list(RoleKey) }, closed),
];
const LeafRule = Type.Union(LEAF_RULES);

/** Who may see a revision or a block: public; any signed-in member; members with one of the given
 * statuses, tiers, current committee places or roles; or any of several such rules. */
export const AudienceRule = Type.Union([
  ...LEAF_RULES,
  Type.Object(
    { type: Type.Literal("any_of"), rules: Type.Array(LeafRule, { minItems: 1, maxItems: 10 }) },
    closed,
  ),
]);
/** One rule without combination, as the schema above allows it. */
export type LeafRule =
  | { type: "public" }
  | { type: "members" }
  | { type: "statuses"; statuses: string[] }
  | { type: "tiers"; tiers: string[] }
  | { type: "committees"; committees: string[] }
  | { type: "roles"; roles: string[] };
/** An audience rule, as the schema above allows it. */
export type AudienceRule = LeafRule | { type: "any_of"; rules: LeafRule[] };

/** The block types the renderer knows. */
export const BLOCK_TYPES = [
  "heading",
  "text",
  "call_to_action",
  "members_note",
  "event_list",
  "image",
  "file",
] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];
/** The block types that show an uploaded file: added by the upload form, never empty. */
export const FILE_BLOCK_TYPES = ["image", "file"] as const;
export type FileBlockType = (typeof FILE_BLOCK_TYPES)[number];

/** A file's content hash (sha256, hex): how a block names the file of its revision it shows. */
export const Sha256 = Type.String({ pattern: "^[0-9a-f]{64}$", minLength: 64, maxLength: 64 });

/** A link a call to action may point to: a path on this site, or an http(s) or mailto address. */
const Href = Type.String({
  pattern: "^(/(?![/\\\\])[^\\s]*|https?://[^\\s]+|mailto:[^\\s]+)$",
  maxLength: 500,
});

/** The data each block type holds. */
export const BLOCK_DATA = {
  heading: Type.Object(
    { text: Text(200, { minLength: 1 }), level: Type.Union([Type.Literal(2), Type.Literal(3)]) },
    closed,
  ),
  text: Type.Object({ markdown: Text(20_000) }, closed),
  call_to_action: Type.Object(
    { label: Text(100, { minLength: 1 }), href: Href, text: Type.Optional(Text(500)) },
    closed,
  ),
  members_note: Type.Object({ markdown: Text(5_000) }, closed),
  event_list: Type.Object(
    { heading: Type.Optional(Text(200)), limit: Type.Integer({ minimum: 1, maximum: 20 }) },
    closed,
  ),
  // Alt text is required: an image without it says nothing to someone who cannot see it.
  image: Type.Object(
    { file: Sha256, alt: Text(300, { minLength: 1 }), caption: Type.Optional(Text(300)) },
    closed,
  ),
  file: Type.Object({ file: Sha256, label: Text(100, { minLength: 1 }) }, closed),
} as const;
export type BlockData = { [K in BlockType]: Static<(typeof BLOCK_DATA)[K]> };

/** Path parameters: a page by slug (anything else names nothing: 404). */
export const SLUG_PARAMS = Type.Object({
  slug: Type.String({ pattern: "^[a-z0-9]+(-[a-z0-9]+)*$", maxLength: 80 }),
});
/** Path parameters: a page and one of its blocks. */
export const BLOCK_PARAMS = Type.Object({ id: Uuid(), blockId: Uuid() });

/** Form fields a repeated checkbox may send once or several times. */
const Many = (maxLength: number) =>
  Type.Optional(Type.Union([Text(maxLength), Type.Array(Text(maxLength), { maxItems: 50 })]));

/** Create a page. */
export const CreatePageForm = FormBody({ slug: FormText(80), title: FormText(200), kind: FormText(10) });
export type CreatePageForm = Static<typeof CreatePageForm>;

/** The draft's title and summary. */
export const DraftForm = FormBody({ version: FormText(12), title: FormText(200), summary: FormText(1000) });
export type DraftForm = Static<typeof DraftForm>;

/** The page's place: slug, navigation, news date. */
export const SettingsForm = FormBody({
  version: FormText(12),
  slug: FormText(80),
  navOrder: FormText(6),
  navParent: FormText(40),
  publishedOn: FormText(10),
});
export type SettingsForm = Static<typeof SettingsForm>;

/** A button that acts on the page as it was read (publish, unpublish, start a draft...). */
export const VersionForm = FormBody({ version: FormText(12) });
export type VersionForm = Static<typeof VersionForm>;

/** Roll back to an earlier revision. */
export const RollbackForm = FormBody({ version: FormText(12), revision: FormText(12) });

/** A block's fields: one form shape for every type, each type reading its own. */
export const BlockForm = FormBody({
  version: FormText(12),
  type: FormText(40),
  text: FormText(200),
  level: FormText(2),
  markdown: FormText(20_000),
  label: FormText(100),
  href: FormText(500),
  heading: FormText(200),
  limit: FormText(3),
  alt: FormText(300),
  caption: FormText(300),
});
export type BlockForm = Static<typeof BlockForm>;

/** A file as the upload form's multipart body carries it (read by the multipart scope's onFile). */
export interface UploadedFile {
  fileName: string;
  bytes: Buffer;
  /** True when the file was longer than the limit (the rest was not read). */
  truncated: boolean;
}

/** The upload form: an image (with its alt text) or a file (with its link text), as a new block of the
 * draft. Multipart; the file part is checked by content and size, not by this schema. */
export const UploadForm = Type.Object(
  {
    version: FormText(12),
    kind: FormText(10),
    alt: FormText(300),
    caption: FormText(300),
    label: FormText(100),
    file: Type.Optional(Type.Unsafe<UploadedFile>({ type: "object" })),
    _csrf: Type.Optional(Text(128)),
    _form: Type.Optional(Text(64)),
  },
  { additionalProperties: false },
);
export type UploadForm = Static<typeof UploadForm>;

/** Path parameters: a published page's file, by the page's slug and the file's content hash. */
export const FILE_PARAMS = Type.Object({
  slug: Type.String({ pattern: "^[a-z0-9]+(-[a-z0-9]+)*$", maxLength: 80 }),
  hash: Sha256,
});
/** Path parameters: a file of a page, for its editors. */
export const ADMIN_FILE_PARAMS = Type.Object({ id: Uuid(), hash: Sha256 });

/** Move a block up or down. */
export const MoveForm = FormBody({ version: FormText(12), direction: FormText(4) });

/** An audience as the editor's checkboxes send it: everyone, signed-in members, or members with any of
 * the ticked statuses, tiers, committees and roles; "inherit" (blocks only) follows the page. */
export const AudienceForm = FormBody({
  version: FormText(12),
  who: FormText(20),
  statuses: Many(20),
  tiers: Many(40),
  committees: Many(40),
  roles: Many(40),
});
export type AudienceForm = Static<typeof AudienceForm>;

/** Which two revisions to compare. */
export const DiffQuery = Query({
  from: Type.Optional(Type.String({ pattern: "^[0-9]{1,6}$", maxLength: 6 })),
  to: Type.Optional(Type.String({ pattern: "^[0-9]{1,6}$", maxLength: 6 })),
});

const NOTICE_KEYS = [
  "created",
  "saved",
  "published",
  "unpublished",
  "archived",
  "rolled_back",
  "draft",
  "block",
  "audience",
  "uploaded",
] as const;
/** The status line after an editor action. */
export const EditorQuery = Query({
  done: Type.Optional(Type.Union(NOTICE_KEYS.map((k) => Type.Literal(k)))),
});
export type NoticeKey = (typeof NOTICE_KEYS)[number];

/** The home page query (?changed=password after a password change). */
export const HomeQuery = Query({ changed: Type.Optional(Text(40)) });

/** Path parameters: a page and one of its revisions by number. */
export const REVISION_PARAMS = Type.Object({
  id: Uuid(),
  number: Type.String({ pattern: "^[1-9][0-9]{0,5}$", maxLength: 6 }),
});
/** Path parameters: a share link's token (anything else names nothing: 404). */
export const PREVIEW_TOKEN_PARAMS = Type.Object({
  token: Type.String({ pattern: "^pv_[A-Za-z0-9_-]{43}$", maxLength: 46 }),
});
/** Path parameters: a file of one revision, in an editor's preview. */
export const PREVIEW_FILE_PARAMS = Type.Object({
  id: Uuid(),
  number: REVISION_PARAMS.properties.number,
  hash: Sha256,
});
/** Path parameters: a file of the revision a share link shows. */
export const PREVIEW_LINK_FILE_PARAMS = Type.Object({
  token: PREVIEW_TOKEN_PARAMS.properties.token,
  hash: Sha256,
});
/** Path parameters: a page and one of its share links. */
export const LINK_PARAMS = Type.Object({ id: Uuid(), linkId: Uuid() });
/** Make a share link: which revision, for how many hours. */
export const PreviewLinkForm = FormBody({
  version: FormText(12),
  revision: FormText(12),
  hours: FormText(4),
});
/** Schedule the draft's publish at a club-time date and time. */
export const ScheduleForm = FormBody({ version: FormText(12), publishAt: FormText(20) });
export const SearchQuery = Query({ q: Type.Optional(Text(200)) });

/* The pages JSON API: what a viewer may see of the published site, nothing else. Blocks the viewer may
 * not see are left out before anything is presented; text comes as the same escaped HTML the site shows. */

/** A published page as a listing shows it. */
export const PageSummaryOut = Type.Object(
  {
    slug: Type.String(),
    kind: Type.Union([Type.Literal("page"), Type.Literal("news")]),
    title: Type.String(),
    summary: Type.String({
      description: "The page's summary, or the start of the blocks this viewer may see",
    }),
    updated: Instant({ description: "When the revision shown was published" }),
  },
  closed,
);
export const PageListOut = Type.Object({ pages: Type.Array(PageSummaryOut) }, closed);

/** A news post as the news listing shows it. */
export const NewsPostOut = Type.Object(
  {
    slug: Type.String(),
    title: Type.String(),
    summary: Type.String(),
    publishedOn: Type.Union([CalendarDate(), Type.Null()]),
    updated: Instant(),
  },
  closed,
);
export const NewsListOut = Type.Object({ posts: Type.Array(NewsPostOut) }, closed);

const BlockOut = <P extends TProperties>(type: string, properties: P) =>
  Type.Object({ type: Type.Literal(type), ...properties }, closed);

/** One block as the API gives it (only blocks the viewer may see). */
export const PageBlockOut = Type.Union([
  BlockOut("heading", { text: Type.String(), level: Type.Union([Type.Literal(2), Type.Literal(3)]) }),
  BlockOut("text", { html: Type.String({ description: "The markdown rendered to HTML, raw HTML off" }) }),
  BlockOut("members_note", { html: Type.String() }),
  BlockOut("call_to_action", {
    label: Type.String(),
    href: Type.String(),
    text: Type.Optional(Type.String()),
  }),
  BlockOut("event_list", {
    heading: Type.String(),
    events: Type.Array(
      Type.Object({ id: Uuid(), title: Type.String(), startsAt: Instant(), url: Type.String() }, closed),
    ),
  }),
  BlockOut("image", { url: Type.String(), alt: Type.String(), caption: Type.Optional(Type.String()) }),
  BlockOut("file", { url: Type.String(), label: Type.String() }),
]);
export type PageBlockOut = Static<typeof PageBlockOut>;

/** A published page with the blocks this viewer may see. */
export const PageOut = Type.Object(
  {
    slug: Type.String(),
    kind: Type.Union([Type.Literal("page"), Type.Literal("news")]),
    title: Type.String(),
    summary: Type.String(),
    publishedOn: Type.Union([CalendarDate(), Type.Null()]),
    updated: Instant(),
    blocks: Type.Array(PageBlockOut),
  },
  closed,
);
export type PageOut = Static<typeof PageOut>;
