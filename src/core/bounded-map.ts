/** A map that forgets its least recently used entries beyond a bound: what a process keeps of what it
 * read, so that no number of distinct keys (slugs, tokens) makes it grow without end. (Uses while it is
 * under half full are not recorded, so among entries last used then, the oldest set goes first.) */
export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    // Use is recorded (the entry moved to the newest end) only once the map is half full: below that
    // nothing is near being forgotten, and a hit then costs one lookup instead of three.
    if (value !== undefined && this.map.size * 2 > this.max) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}
