// Writes docs/GUARANTEES.md from the registry (`npm run docs:guarantees`); the registry check fails
// when the file on disk differs from what this renders, so the document cannot drift from the code.
import fs from "node:fs";
import path from "node:path";
import { type NonGuarantee, nonGuarantees } from "./non-guarantees.ts";
import { type Guarantee, guarantees } from "./registry.ts";

const cell = (text: string) => text.replace(/\|/g, "\\|");
// GitHub's anchor for a section heading.
const anchor = (g: Guarantee) =>
  `${g.id} ${g.title}`
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, "")
    .replace(/ /g, "-");

function section(g: Guarantee): string[] {
  const lines = [`## ${g.id} ${g.title}`, "", `Status: **${g.status}**. Rules: ${g.rules.join(", ")}.`, ""];
  if (g.notes) lines.push(`Notes: ${g.notes}`, "");
  lines.push("Mechanisms:");
  if (g.mechanisms.length === 0) lines.push("- none yet");
  for (const m of g.mechanisms) {
    lines.push(`- ${m.description}: \`${m.file}\`${m.symbol ? ` (\`${m.symbol}\`)` : ""}`);
  }
  lines.push("", "Detection:");
  if (g.detection.length === 0) lines.push("- none yet");
  for (const d of g.detection) {
    const ref = d.kind === "cli" || d.kind === "scan" ? `clubos ${d.reference}` : d.reference;
    lines.push(`- ${d.kind}: \`${ref}\`: ${d.description}`);
  }
  lines.push("", "Recovery:");
  if (g.recovery.length === 0) lines.push("- none yet");
  for (const r of g.recovery) {
    const how = [
      r.cliVerb ? `\`clubos ${r.cliVerb}\`` : "",
      r.runbook ? `[${r.runbook}](${r.runbook.replace(/^docs\//, "")})` : "",
    ]
      .filter(Boolean)
      .join(", ");
    lines.push(`- ${r.description}${how ? ` (${how})` : ""}`);
  }
  lines.push(
    "",
    g.status === "enforced"
      ? `Tests: every test named with \`[${g.id}]\`; \`npm test\` fails unless one passes in the same run.`
      : `Tests: none required while planned; tag them \`[${g.id}]\` when the mechanism lands.`,
    "",
  );
  return lines;
}

function notPromised(list: readonly NonGuarantee[]): string[] {
  if (list.length === 0) return [];
  return [
    "## What ClubOS does not promise",
    "",
    ...list.flatMap((n, i) => [`${i + 1}. **${n.title}.** ${n.detail}`]),
    "",
  ];
}

/** The whole of docs/GUARANTEES.md for a registry (the real one by default). */
export function renderGuaranteesDoc(
  registry: readonly Guarantee[] = guarantees,
  notPromises: readonly NonGuarantee[] = nonGuarantees,
): string {
  const enforced = registry.filter((g) => g.status === "enforced").length;
  const lines = [
    "# Guarantees",
    "",
    "<!-- Generated from src/guarantees/registry.ts by `npm run docs:guarantees`. Do not edit. -->",
    "",
    "Each row of the guarantee to mechanism matrix, with what enforces it, how we notice when it fails",
    "and how we recover. `npm test` checks that every named file, symbol, metric, route, CLI verb and",
    "runbook exists and that every enforced row has a passing test named with its id;",
    "`clubos guarantees` prints this table.",
    "",
    `${enforced} of ${registry.length} rows are enforced.`,
    "",
    "| id | guarantee | status | rules |",
    "|---|---|---|---|",
    ...registry.map(
      (g) => `| [${g.id}](#${anchor(g)}) | ${cell(g.title)} | ${g.status} | ${g.rules.join(", ")} |`,
    ),
    "",
    ...registry.flatMap(section),
    ...notPromised(notPromises),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const file = path.resolve(import.meta.dirname, "../../docs/GUARANTEES.md");
  fs.writeFileSync(file, renderGuaranteesDoc());
  console.log(`Wrote ${path.relative(process.cwd(), file)}.`);
}
