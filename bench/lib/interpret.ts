import { median } from "./harness.ts";
import { medianRate, pairedRatios, type RunRecord } from "./report.ts";
import type { SealStats, Variant } from "./variants.ts";

/** The target: chaining may cost at most 20% of throughput at 16 clients. */
export const TARGET = 0.8;

/** The facts a reader needs next to the table, stated from this run's numbers only. */
export function interpret(
  records: RunRecord[],
  clients: number[],
  variants: Variant[],
  seals: SealStats[],
  verdict: string,
): string[] {
  const rate = (v: Variant, c: number) => medianRate(records, v, c);
  const paired = (v: Variant, c: number) => median(pairedRatios(records, v, c));
  const top = Math.max(...clients);
  const low = Math.min(...clients);
  const lines: string[] = [];
  if (variants.includes("B")) {
    const ba = rate("B", top) / rate("A", top);
    const both = `B/A = ${ba.toFixed(2)}; median of per-repeat B/A = ${paired("B", top).toFixed(2)}`;
    lines.push(
      top === 16
        ? `- Target B/A >= ${TARGET} at 16 clients: ${ba >= TARGET ? "met" : "NOT met"} (${both}).`
        : `- At ${top} clients ${both} (the issue's target is stated at 16 clients).`,
    );
  }
  if (variants.includes("L") && variants.includes("B")) {
    const la = rate("L", top) / rate("A", top);
    const bl = rate("B", top) / rate("L", top);
    lines.push(
      `- Split of B's cost at ${top} clients: the shared lock alone L/A = ${la.toFixed(2)}, the sealer on top ` +
        `B/L = ${bl.toFixed(2)}.`,
    );
  }
  if (variants.includes("C")) {
    lines.push(
      `- C/A at ${top} clients = ${(rate("C", top) / rate("A", top)).toFixed(2)}; C went from ` +
        `${rate("C", low).toFixed(0)}/s at ${low} client(s) to ${rate("C", top).toFixed(0)}/s at ${top}, while A went ` +
        `from ${rate("A", low).toFixed(0)}/s to ${rate("A", top).toFixed(0)}/s. C holds one row lock through ` +
        "commit and its WAL flush, so actions queue behind each other and cannot share a flush; B's writers " +
        "only share a lock, and pause only while the sealer briefly takes it exclusively.",
    );
  }
  if (seals.length > 0) {
    lines.push(
      `- After every B run the stopped sealer had sealed everything: backlog at window end at most ` +
        `${Math.max(...seals.map((s) => s.backlog))} entries, final seal at most ` +
        `${Math.max(...seals.map((s) => s.drainMs))} ms.`,
    );
  }
  lines.push(`- ${verdict}.`);
  return lines;
}
