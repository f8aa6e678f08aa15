import { Compile } from "typebox/compile";
import { invalidInput } from "../../core/errors.ts";
import {
  AudienceRule,
  BLOCK_DATA,
  BLOCK_TYPES,
  type BlockType,
  FILE_BLOCK_TYPES,
  type FileBlockType,
} from "./pages.schemas.ts";

/* The rules of a page's content that need more than a form's schema, written once and applied by every
 * action (and by the renderer, which shows nothing it would not accept): a slug, a title, a block's data
 * for its type, an audience. */

const CHECKERS = Object.fromEntries(
  Object.entries(BLOCK_DATA).map(([type, schema]) => [type, Compile(schema)]),
) as unknown as Record<BlockType, { Check(value: unknown): boolean }>;
const AUDIENCE = Compile(AudienceRule);

/** True if the type is one the renderer knows. */
export function isBlockType(type: string): type is BlockType {
  return (BLOCK_TYPES as readonly string[]).includes(type);
}

/** True when the block's type is known and its data fits that type. */
export function blockIsValid(block: { type: string; data: unknown }): boolean {
  return isBlockType(block.type) && CHECKERS[block.type].Check(block.data);
}

/** True when the audience is one the evaluator can read. */
export function audienceIsValid(rule: unknown): boolean {
  return AUDIENCE.Check(rule);
}

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** A page address: lower-case letters, digits and single hyphens. */
export function checkSlug(raw: string): string {
  const slug = raw.trim().toLowerCase();
  if (!SLUG.test(slug) || slug.length > 80)
    throw invalidInput(
      `"${raw}" cannot be a page address. Use lower-case letters, digits and hyphens, like "about-us".`,
    );
  return slug;
}

/** A revision title: not blank, at most 200 characters. */
export function checkTitle(raw: string): string {
  const title = raw.trim();
  if (!title) throw invalidInput("The page needs a title. Type one and save again.");
  if (title.length > 200) throw invalidInput("The title is longer than 200 characters. Shorten it.");
  return title;
}

/** True for the types that show an uploaded file (added by the upload form, with their file). */
export function isFileBlockType(type: string): type is FileBlockType {
  return (FILE_BLOCK_TYPES as readonly string[]).includes(type);
}

/** The file a block shows, or undefined when it shows none. */
export function fileOfBlock(block: { type: string; data: unknown }): string | undefined {
  if (!isFileBlockType(block.type)) return undefined;
  const file = (block.data as { file?: unknown } | null)?.file;
  return typeof file === "string" ? file : undefined;
}

/** What a new block of each type starts with (file blocks start with their upload). */
export const NEW_BLOCK: { [K in Exclude<BlockType, FileBlockType>]: unknown } = {
  heading: { text: "New heading", level: 2 },
  text: { markdown: "" },
  call_to_action: { label: "Find out more", href: "/" },
  members_note: { markdown: "" },
  event_list: { limit: 5 },
};

/** The names of the block types, as editors read them. */
export const BLOCK_NAMES: { [K in BlockType]: string } = {
  heading: "Heading",
  text: "Text",
  call_to_action: "Call to action",
  members_note: "Members-only note",
  event_list: "Upcoming events",
  image: "Image",
  file: "File to download",
};

/** The words a block shows, as plain text (markdown left as written): what a feed summary, a search
 * snippet and the leak audit read. The same fields the search column indexes (migration 0027). */
export function blockText(block: { data: unknown }): string {
  const d = (block.data ?? {}) as Record<string, unknown>;
  return ["text", "markdown", "label", "heading"]
    .map((k) => (typeof d[k] === "string" ? (d[k] as string) : ""))
    .filter(Boolean)
    .join(" ");
}

/** Text cut to at most `max` characters at a word boundary, with an ellipsis when cut. */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 0 ? cut.lastIndexOf(" ") : max)}…`;
}
