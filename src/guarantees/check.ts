// The merge gate for the guarantee matrix (O4, G16): every row names things that exist, and every
// enforced row is proven by a test that passed in this very run. Run after the tests:
//   node --import tsx src/guarantees/check.ts .test-results/results.jsonl
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { buildProgram, type CliEnv } from "../app/cli.ts";
import { loadConfig } from "../app/config.ts";
import { declaredRoutes } from "../app/verbs/routes.verbs.ts";
import { registry as metricsRegistry } from "../core/metrics.ts";
import { renderGuaranteesDoc } from "./generate-doc.ts";
import { type Guarantee, guarantees } from "./registry.ts";

/** What the registry is checked against. metrics and routes are checked only when given. */
export interface CheckOptions {
  root: string;
  verbs: readonly string[];
  passedTestNames: readonly string[];
  failedTestNames?: readonly string[];
  metrics?: readonly string[];
  routes?: readonly string[];
}

/** One thing wrong with one row. */
export interface Problem {
  id: string;
  message: string;
}

const RULE_ID = /^(INV|W|R|D|C|I|S|REC|B|H|CC)-\d+$|^O[1-4]$/;
const TAG = /\[(G\d\d)\]/g;

function phrasePattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
}

/** True when the file declares symbol: in code a declaration (a mention in a comment or a call does
 * not count); in SQL and other files the phrase outside `--` comments. */
export function declaresSymbol(text: string, file: string, symbol: string): boolean {
  if (/\.(ts|tsx|mts|js|mjs)$/.test(file)) {
    const declaration = new RegExp(
      `^[ \\t]*(export[ \\t]+)?(default[ \\t]+)?(declare[ \\t]+)?(async[ \\t]+)?(function\\*?|const|let|var|class|interface|type|enum)[ \\t]+${phrasePattern(symbol)}\\b`,
      "m",
    );
    return declaration.test(text);
  }
  const code = text.replace(/--.*$/gm, "");
  return new RegExp(`(^|[^\\w])${phrasePattern(symbol)}($|[^\\w])`).test(code);
}

// A repo-relative path that stays inside the repository.
function resolveInside(root: string, file: string): string | null {
  if (path.isAbsolute(file)) return null;
  const full = path.resolve(root, file);
  return full.startsWith(path.resolve(root) + path.sep) ? full : null;
}

function existingFile(root: string, file: string): string | null {
  const full = resolveInside(root, file);
  return full && fs.existsSync(full) && fs.statSync(full).isFile() ? full : null;
}

/** The problems with a registry; an empty list means every row holds up. */
export function checkRegistry(registry: readonly Guarantee[], o: CheckOptions): Problem[] {
  const problems: Problem[] = [];
  const verbs = new Set(o.verbs);
  const seen = new Set<string>();
  for (const g of registry) {
    const add = (message: string) => problems.push({ id: g.id, message });
    if (!/^G\d\d$/.test(g.id)) add("the id must look like G01");
    if (seen.has(g.id)) add("the id appears twice");
    seen.add(g.id);
    if (!g.title.trim()) add("the guarantee has no title");
    if (g.rules.length === 0) add("no related rule ids");
    for (const rule of g.rules)
      if (!RULE_ID.test(rule)) add(`"${rule}" is not a rule id (e.g. W-2, INV-8, O3)`);

    if (g.status === "enforced") {
      if (g.mechanisms.length === 0) add("enforced but names no mechanism");
      if (g.detection.length === 0) add("enforced but names no detection signal");
      if (g.recovery.length === 0) add("enforced but names no recovery path");
      const tag = `[${g.id}]`;
      if (!o.passedTestNames.some((name) => name.includes(tag))) {
        add(`enforced but no test named with ${tag} passed in this run`);
      }
    }
    for (const name of o.failedTestNames ?? []) if (name.includes(`[${g.id}]`)) add(`test failed: ${name}`);

    for (const m of g.mechanisms) {
      if (!m.description.trim()) add(`mechanism in ${m.file} has no description`);
      const full = existingFile(o.root, m.file);
      if (!full) add(`mechanism file ${m.file} does not exist`);
      else if (m.symbol && !declaresSymbol(fs.readFileSync(full, "utf8"), m.file, m.symbol)) {
        add(`${m.file} does not declare ${m.symbol}`);
      }
    }
    for (const d of g.detection) {
      if (!d.description.trim()) add(`detection ${d.reference} has no description`);
      if ((d.kind === "cli" || d.kind === "scan") && !verbs.has(d.reference)) {
        add(`detection names the CLI verb "clubos ${d.reference}", which does not exist`);
      }
      const metric = d.reference.split("{")[0]!;
      if (d.kind === "metric" && o.metrics && !o.metrics.includes(metric)) {
        add(`detection names the metric ${metric}, which is not registered`);
      }
      if (
        (d.kind === "health" || d.kind === "admin-warning") &&
        o.routes &&
        !o.routes.includes(d.reference)
      ) {
        add(`detection names the route ${d.reference}, which is not declared`);
      }
    }
    for (const r of g.recovery) {
      if (!r.description.trim()) add("a recovery path has no description");
      if (r.cliVerb !== undefined && !verbs.has(r.cliVerb)) {
        add(`recovery names the CLI verb "clubos ${r.cliVerb}", which does not exist`);
      }
      if (
        r.runbook !== undefined &&
        (!r.runbook.startsWith("docs/runbooks/") || !existingFile(o.root, r.runbook))
      ) {
        add(`recovery runbook ${r.runbook} does not exist`);
      }
    }
  }
  // A typo in a tag ([G4], [G18]) would silently prove nothing.
  for (const name of o.passedTestNames) {
    for (const [, id] of name.matchAll(TAG)) {
      if (!seen.has(id!))
        problems.push({ id: id!, message: `the test "${name}" is tagged with an unknown id` });
    }
  }
  // Two recovery paths sharing one missing runbook are one problem.
  return problems.filter((p, i) => problems.findIndex((q) => q.id === p.id && q.message === p.message) === i);
}

/** Problems with the registry's shape: exactly the matrix rows G01..G17, in order. */
export function checkMatrixRows(registry: readonly Guarantee[]): Problem[] {
  const expected = Array.from({ length: 17 }, (_, i) => `G${String(i + 1).padStart(2, "0")}`);
  const actual = registry.map((g) => g.id);
  return actual.join() === expected.join()
    ? []
    : [
        {
          id: "registry",
          message: `rows must be ${expected.join(", ")} in order; found ${actual.join(", ")}`,
        },
      ];
}

function walk(command: Command, prefix: string[], out: string[]): void {
  for (const sub of command.commands) {
    const words = [...prefix, sub.name()];
    out.push(words.join(" "));
    walk(sub, words, out);
  }
}

/** Every real CLI verb ("mode set", "audit verify", "serve", ...), read from the commander program. */
export async function listVerbs(): Promise<string[]> {
  const env: CliEnv = {
    io: { out: () => {}, err: () => {}, progress: () => {} },
    config: loadConfig({}),
    withRuntime: () => Promise.reject(new Error("listing verbs never opens a runtime")),
  };
  const program = await buildProgram(env);
  const verbs: string[] = [];
  walk(program, [], verbs);
  return verbs;
}

/** Every metric name registered at /metrics. */
export function listMetrics(): string[] {
  return metricsRegistry.getMetricsAsArray().map((m) => m.name);
}

/** Every declared route path. */
export async function listRoutes(): Promise<string[]> {
  return [...new Set((await declaredRoutes(loadConfig({}))).map((r) => r.url))];
}

/** Leaf test names from the results file, split by outcome. */
export function readResults(file: string): { passed: string[]; failed: string[] } {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  const rows = lines.map((l) => JSON.parse(l) as { name: string; status: string; isSuite?: boolean });
  const leaves = rows.filter((r) => !r.isSuite);
  return {
    passed: leaves.filter((r) => r.status === "pass").map((r) => r.name),
    failed: rows.filter((r) => r.status === "fail").map((r) => r.name),
  };
}

const DOC = "docs/GUARANTEES.md";

/** Problems with docs/GUARANTEES.md: missing or not what the registry renders to. */
export function checkDoc(root: string): Problem[] {
  const file = path.join(root, DOC);
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
  if (current === renderGuaranteesDoc()) return [];
  return [{ id: "docs", message: `${DOC} is missing or stale: run \`npm run docs:guarantees\`` }];
}

async function main(resultsFile: string | undefined): Promise<number> {
  const root = path.resolve(import.meta.dirname, "../..");
  if (!resultsFile || !fs.existsSync(resultsFile)) {
    console.error(
      `Usage: check.ts <results.jsonl>. No results file at ${resultsFile ?? "(none given)"}: run the tests first.`,
    );
    return 2;
  }
  const { passed, failed } = readResults(resultsFile);
  const problems = [
    ...checkMatrixRows(guarantees),
    ...checkRegistry(guarantees, {
      root,
      verbs: await listVerbs(),
      passedTestNames: passed,
      failedTestNames: failed,
      metrics: listMetrics(),
      routes: await listRoutes(),
    }),
    ...checkDoc(root),
  ];
  const enforced = guarantees.filter((g) => g.status === "enforced");
  for (const g of guarantees) {
    const proven = passed.filter((n) => n.includes(`[${g.id}]`)).length;
    console.log(`${g.id} ${g.status.padEnd(8)} ${String(proven).padStart(3)} passing tests  ${g.title}`);
  }
  if (problems.length === 0) {
    console.log(
      `\nGuarantee registry: ${enforced.length} enforced rows hold up, ${guarantees.length - enforced.length} planned.`,
    );
    return 0;
  }
  console.log(`\nGuarantee registry: ${problems.length} problem(s):`);
  for (const p of problems) console.log(`  ${p.id}: ${p.message}`);
  return 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await main(process.argv[2]);
}
