import { BoundedMap } from "./bounded-map.ts";

/** What a process keeps of rows it read, each under the version of the snapshot it was read in and for the
 * database-time window it holds (from its read until the clock alone would change it, a term beginning or
 * ending): usable only while a fresh read of the versions returns that version and the fresh clock is in
 * the window. Bounded, so no number of keys makes it grow without end. */
export class KeptUnderVersion<V> {
  private readonly kept: BoundedMap<{ value: V; version: string; from: number; until: number }>;

  constructor(max: number) {
    this.kept = new BoundedMap(max);
  }

  /** The kept value if it still holds at this version and database time, else undefined. */
  get(key: string, version: string, now: Date): V | undefined {
    const kept = this.kept.get(key);
    const at = now.getTime();
    return kept && kept.version === version && at >= kept.from && at < kept.until ? kept.value : undefined;
  }

  /** Keeps a value read at `from` (database time) under `version`, until `until` (null: no end by clock). */
  keep(key: string, value: V, version: string, from: Date, until: Date | null): void {
    this.kept.set(key, {
      value,
      version,
      from: new Date(from).getTime(),
      until: until ? new Date(until).getTime() : Number.POSITIVE_INFINITY,
    });
  }

  forget(key: string): void {
    this.kept.delete(key);
  }
}
