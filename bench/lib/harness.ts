import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { Variant } from "./variants.ts";

/** Settings read from the environment so a quick or a long run needs no code change. */
export interface BenchSettings {
  serverUrl: string;
  warmupMs: number;
  durationMs: number;
  repeats: number;
  clients: number[];
  variants: Variant[];
  writeResults: boolean;
}

/** A whole-number BENCH_* setting, or the fallback when unset. */
export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}".`);
  return value;
}

/** Reads BENCH_* variables (see bench/README.md); defaults give a full run of about four minutes. */
export function readSettings(): BenchSettings {
  const clients = (process.env.BENCH_CLIENTS || "1,4,16").split(",").map((c) => Number(c.trim()));
  if (clients.some((c) => !Number.isInteger(c) || c < 1)) throw new Error("BENCH_CLIENTS: e.g. 1,4,16");
  const variants = (process.env.BENCH_VARIANTS || "A,B,C").split(",").map((v) => v.trim().toUpperCase());
  if (!variants.includes("A") || variants.some((v) => !["A", "B", "C", "L"].includes(v))) {
    throw new Error("BENCH_VARIANTS: a list of A, B, C, L that includes A (the baseline), e.g. A,B,C");
  }
  return {
    serverUrl: process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
    warmupMs: intEnv("BENCH_WARMUP_MS", 1000),
    durationMs: Math.max(1, intEnv("BENCH_DURATION_MS", 4000)),
    repeats: Math.max(1, intEnv("BENCH_REPEATS", 5)),
    clients,
    variants: variants as Variant[],
    writeResults: process.env.BENCH_RESULTS !== "0",
  };
}

/** A database of the benchmark's own on the server; drop() removes it even while connections remain. */
export async function createBenchDatabase(
  serverUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `clubos_bench_${randomBytes(5).toString("hex")}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** One timed run: how many actions finished inside the window and how long each took. */
export interface LoadResult {
  actions: number;
  seconds: number;
  latenciesMs: number[];
}

/** Runs `clients` loops of back-to-back actions; only actions that start after the warm-up and finish
 * before the window closes are counted, so slow stragglers cannot inflate the window. */
export async function runLoad(
  clients: number,
  warmupMs: number,
  durationMs: number,
  once: (client: number) => Promise<void>,
): Promise<LoadResult> {
  const from = performance.now() + warmupMs;
  const until = from + durationMs;
  const latenciesMs: number[] = [];
  const loop = async (client: number) => {
    while (performance.now() < until) {
      const t0 = performance.now();
      await once(client);
      const t1 = performance.now();
      if (t0 >= from && t1 <= until) latenciesMs.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
  return { actions: latenciesMs.length, seconds: durationMs / 1000, latenciesMs };
}

/** The q-quantile (0..1) of the values, nearest-rank; NaN for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median, used to summarise repeated runs on a noisy shared machine. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
