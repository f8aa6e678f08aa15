import fs from "node:fs";
import os from "node:os";
import { sql } from "kysely";
import type { Database } from "../../src/core/db/connect.ts";
import { median, quantile } from "./harness.ts";
import { VARIANT_LABELS, type Variant } from "./variants.ts";

/** One timed run of one variant at one client count. */
export interface RunRecord {
  variant: Variant;
  clients: number;
  repeat: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** Summarises a run's latencies into a record. */
export function record(
  variant: Variant,
  clients: number,
  repeat: number,
  r: { actions: number; seconds: number; latenciesMs: number[] },
): RunRecord {
  return {
    variant,
    clients,
    repeat,
    perSecond: r.actions / r.seconds,
    p50: quantile(r.latenciesMs, 0.5),
    p99: quantile(r.latenciesMs, 0.99),
  };
}

/** The machine the numbers came from: CPU, memory, Node. */
export function hostDetails(): string[] {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  return [
    `- CPU: ${model}; nproc ${os.availableParallelism()}`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Node: ${process.version}`,
  ];
}

/** The machine and server the numbers came from; the commit settings matter most for this benchmark. */
export async function machineDetails(database: Database): Promise<string[]> {
  const show = async (name: string) =>
    (await sql<{ v: string }>`SELECT current_setting(${name}) AS v`.execute(database.db)).rows[0]?.v;
  const version = (await sql<{ v: string }>`SELECT version() AS v`.execute(database.db)).rows[0]?.v;
  return [
    ...hostDetails(),
    `- PostgreSQL: ${version} (fsync=${await show("fsync")}, synchronous_commit=${await show("synchronous_commit")})`,
  ];
}

/** Median throughput of a variant at a client count over its repeats. */
export function medianRate(records: RunRecord[], variant: Variant, clients: number): number {
  return median(
    records.filter((r) => r.variant === variant && r.clients === clients).map((r) => r.perSecond),
  );
}

/** Throughput ratios of a variant to A within each repeat (A ran moments before or after, under the same load from
 * other processes); steadier than the ratio of medians on a shared machine. */
export function pairedRatios(records: RunRecord[], variant: Variant, clients: number): number[] {
  return records
    .filter((r) => r.variant === variant && r.clients === clients)
    .map((r) => {
      const a = records.find((x) => x.variant === "A" && x.clients === clients && x.repeat === r.repeat);
      return a ? r.perSecond / a.perSecond : Number.NaN;
    })
    .filter((x) => Number.isFinite(x));
}

function pairedSummary(records: RunRecord[], variant: Variant, clients: number): string {
  const ratios = pairedRatios(records, variant, clients);
  if (ratios.length === 0) return "–";
  const f = (x: number) => x.toFixed(2);
  return `${f(median(ratios))} (${f(Math.min(...ratios))}–${f(Math.max(...ratios))})`;
}

/** The markdown table: medians over repeats, and each variant's throughput relative to A. */
export function markdownTable(records: RunRecord[], clients: number[], variants: Variant[]): string {
  const lines = [
    "| clients | variant | actions/s | p50 ms | p99 ms | vs A (ratio of medians) | vs A paired per repeat: median (min–max) |",
    "|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const c of clients) {
    const a = medianRate(records, "A", c);
    for (const v of variants) {
      const runs = records.filter((r) => r.variant === v && r.clients === c);
      if (runs.length === 0) continue;
      const rate = medianRate(records, v, c);
      const p50 = median(runs.map((r) => r.p50));
      const p99 = median(runs.map((r) => r.p99));
      const ratio = v === "A" || !Number.isFinite(a) ? "1.00" : (rate / a).toFixed(2);
      const paired = v === "A" ? "–" : pairedSummary(records, v, c);
      lines.push(
        `| ${c} | ${VARIANT_LABELS[v]} | ${rate.toFixed(0)} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${ratio} | ${paired} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Appends a dated section to bench/RESULTS.md (created with a heading if missing). */
export function appendResults(file: string, section: string): void {
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, "# Benchmark results\n\nNewest runs at the bottom. See bench/README.md.\n");
  }
  fs.appendFileSync(file, `\n${section.trimEnd()}\n`);
}
