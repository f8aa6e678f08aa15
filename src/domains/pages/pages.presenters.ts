import { diffLines } from "diff";
import { describeAudience } from "./audience.ts";
import { BLOCK_NAMES, isBlockType } from "./page-content.ts";
import type { BlockRow } from "./pages.repository.ts";

/* Revisions as editors compare them: each revision written out as plain lines (title, summary, audience,
 * then every block with its fields), and the difference between two such texts line by line. */

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
