import { diffLines } from "diff";
import { renderMarkdown } from "../../http/markdown.ts";
import { dateOnly, iso } from "../../http/present.ts";
import { describeAudience } from "./audience.ts";
import { BLOCK_NAMES, isBlockType } from "./page-content.ts";
import type { BlockRow, PublishedPage } from "./pages.repository.ts";
import type { BlockData, PageBlockOut, PageOut } from "./pages.schemas.ts";
import type { ListedEvent } from "./pages.views.tsx";

/* Published pages as the JSON API gives them (presentPage), and revisions as editors compare them: each
 * revision written out as plain lines (title, summary, audience, then every block with its fields), and
 * the difference between two such texts line by line. */

/** A revision as text, one field or block line after another. */
export function revisionText(
  revision: { title: string; summary: string; audience: unknown },
  blocks: BlockRow[],
  names: { committees?: Map<string, string> } = {},
): string {
  const lines = [
    `Title: ${revision.title}`,
    `Summary: ${revision.summary}`,
    `Who may see it: ${describeAudience(revision.audience, names)}`,
  ];
  for (const block of blocks) {
    const kind = isBlockType(block.type) ? BLOCK_NAMES[block.type] : block.type;
    const who = block.audience === null ? "" : ` (only ${describeAudience(block.audience, names)})`;
    lines.push(`Block ${block.position}: ${kind}${who}`);
    const data = (block.data ?? {}) as Record<string, unknown>;
    for (const [field, value] of Object.entries(data).sort(([a], [b]) => a.localeCompare(b))) {
      for (const line of String(value).split("\n")) lines.push(`  ${field}: ${line}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** One line of a diff: kept, added in the newer revision, or removed from the older one. */
export interface DiffLine {
  change: "same" | "added" | "removed";
  text: string;
}

/** The line-by-line difference from one revision's text to another's. */
export function revisionDiff(from: string, to: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const part of diffLines(from, to)) {
    const change = part.added ? "added" : part.removed ? "removed" : "same";
    for (const text of part.value.replace(/\n$/, "").split("\n")) out.push({ change, text });
  }
  return out;
}

/** A block the viewer may see, as the JSON API gives it: text as the same HTML the site renders, files by
 * their address under the page (served only after the page's and the block's audience decision). Throws
 * for a type it does not know, like the HTML renderer. */
export function presentBlock(slug: string, block: BlockRow, events: readonly ListedEvent[]): PageBlockOut {
  const fileUrl = (file: string) => `/p/${slug}/files/${file}`;
  switch (block.type) {
    case "heading": {
      const d = block.data as BlockData["heading"];
      return { type: "heading", text: d.text, level: d.level };
    }
    case "text":
      return { type: "text", html: renderMarkdown((block.data as BlockData["text"]).markdown) };
    case "members_note":
      return {
        type: "members_note",
        html: renderMarkdown((block.data as BlockData["members_note"]).markdown),
      };
    case "call_to_action": {
      const d = block.data as BlockData["call_to_action"];
      return { type: "call_to_action", label: d.label, href: d.href, ...(d.text ? { text: d.text } : {}) };
    }
    case "event_list": {
      const d = block.data as BlockData["event_list"];
      return {
        type: "event_list",
        heading: d.heading?.trim() || "Upcoming events",
        events: events
          .slice(0, d.limit)
          .map((e) => ({ id: e.id, title: e.title, startsAt: iso(e.starts_at), url: `/events/${e.id}` })),
      };
    }
    case "image": {
      const d = block.data as BlockData["image"];
      return {
        type: "image",
        url: fileUrl(d.file),
        alt: d.alt,
        ...(d.caption ? { caption: d.caption } : {}),
      };
    }
    case "file": {
      const d = block.data as BlockData["file"];
      return { type: "file", url: fileUrl(d.file), label: d.label };
    }
  }
  throw new Error(`no presenter for block type ${block.type}`);
}

/** A published page for the JSON API, with the blocks the viewer may see (already chosen by the route). */
export function presentPage(
  page: PublishedPage,
  summary: string,
  blocks: BlockRow[],
  events: readonly ListedEvent[],
): PageOut {
  return {
    slug: page.slug,
    kind: page.kind === "news" ? "news" : "page",
    title: page.title,
    summary,
    publishedOn: dateOnly(page.published_on),
    updated: iso(page.published_at!),
    blocks: blocks.map((b) => presentBlock(page.slug, b, events)),
  };
}
