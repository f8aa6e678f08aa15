import { type Static, Type } from "typebox";
import { ROLES } from "../../core/capabilities.ts";
import { FormBody, FormText, Query, Text, Uuid } from "../../http/schema.ts";
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

/** The block types the renderer knows; more (images, files) come later. */
export const BLOCK_TYPES = ["heading", "text", "call_to_action", "members_note", "event_list"] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

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
});
export type BlockForm = Static<typeof BlockForm>;

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
] as const;
/** The status line after an editor action. */
export const EditorQuery = Query({
  done: Type.Optional(Type.Union(NOTICE_KEYS.map((k) => Type.Literal(k)))),
});
export type NoticeKey = (typeof NOTICE_KEYS)[number];

/** The home page query (?changed=password after a password change). */
export const HomeQuery = Query({ changed: Type.Optional(Text(40)) });
export const SearchQuery = Query({ q: Type.Optional(Text(200)) });
