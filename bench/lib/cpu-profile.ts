/* Reads a V8 .cpuprofile (node --cpu-prof; bench:pages writes them with BENCH_CPU_PROF=dir) and prints
 * where the time went: self time by function and by package or source file, and total (inclusive) time
 * of this project's functions. Run: `npx tsx bench/lib/cpu-profile.ts FILE [top]`. */
import fs from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("Usage: tsx bench/lib/cpu-profile.ts FILE.cpuprofile [top]");
const top = Number(topArg ?? 30);
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
for (const [i, id] of profile.samples.entries())
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
// Shares are of the busy time: the process idles between runs (and between requests under light load).
for (const id of [...selfUs.keys()]) if (byId.get(id)!.callFrame.functionName === "(idle)") selfUs.delete(id);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\//, "");
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  return pkg ?? (url ? url.replace(/^.*?\/(src|bench)\//, "$1/") : "(native)");
};
const label = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${where(n)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`;

const sum = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const selfByFn = new Map<string, number>();
const selfByPlace = new Map<string, number>();
const inclusive = new Map<string, number>();
const packages = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  sum(selfByFn, label(n), us);
  sum(selfByPlace, where(n), us);
  // Inclusive time of project functions: each sample counts once per distinct function on its stack.
  const seen = new Set<string>();
  const places = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
    places.add(where(byId.get(cur)!));
  for (const place of places) sum(packages, place, us);
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const node = byId.get(cur)!;
    if (!/\/(src|bench)\//.test(node.callFrame.url) || node.callFrame.url.includes("node_modules")) continue;
    const key = label(node);
    if (!seen.has(key)) {
      seen.add(key);
      sum(inclusive, key, us);
    }
  }
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n## ${title} (of ${(total / 1000).toFixed(0)} ms busy)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
};
print("self time by function", selfByFn);
print("self time by package or file", selfByPlace);
print("total time of the project's functions", inclusive);
print("total time under each package or file (anywhere on the stack)", packages);
