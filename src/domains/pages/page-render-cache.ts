import type { NavigationRow } from "./page-serving.repository.ts";
import type { BlockRow } from "./pages.repository.ts";

/* What a published-page request may reuse from an earlier one, in this process only. Nothing here
 * decides or skips an audience: every request reads the page's current state (publishedPageState) and
 * decides the page's and each block's audience for its own viewer first; only then does it look here.
 *
 * - A frozen revision's blocks, by revision id and content hash: a frozen revision cannot change (the
 *   database refuses it), so these are the rows the database would return. All of them are kept; which
 *   ones a viewer gets is decided per request.
 * - Rendered content, by revision, content hash, slug and the exact list of blocks rendered:
 *   renderPageContent is a function of those alone (it is given no viewer), so two viewers whose audience
 *   decisions admit the same blocks get the same bytes, and a viewer is only ever given content made of
 *   blocks their own decision admitted. Pages with an event list are not kept (the events are live).
 * - The navigation rows, under the key of the state they were read in (one slot); each viewer's links
 *   are still filtered by their own audience decision.
 * - Whole responses for anonymous requests of pages every viewer gets alike (R-6: only what a shared
 *   cache could keep), by content key, navigation key and system state. */

/** A map that forgets its least recently used entries beyond a bound. */
export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
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
  get size(): number {
    return this.map.size;
  }
}

/** A frozen revision as the cache names it. */
export interface FrozenRevision {
  revision_id: string;
  content_hash: string | null;
  slug: string;
}

/** Whether content made of these blocks may be kept: not when it shows live data (event lists). */
export function contentIsKeepable(blocks: readonly { type: string }[]): boolean {
  return !blocks.some((b) => b.type === "event_list");
}

/** The key of content rendered from exactly these blocks of this revision. */
export function contentKey(revision: FrozenRevision, shown: readonly { id: string }[]): string {
  return `${revision.revision_id}|${revision.content_hash}|${revision.slug}|${shown.map((b) => b.id).join(",")}`;
}

/** One app's published-page caches (each app instance has its own). */
export class PageRenderCache {
  readonly blocks = new BoundedMap<BlockRow[]>(256);
  readonly content = new BoundedMap<string>(1024);
  readonly publicResponses = new BoundedMap<{ html: string; etag: string }>(256);
  private navigation: { key: string; rows: NavigationRow[] } | undefined;

  /** The revision's blocks, read once per frozen revision. */
  async blocksOf(revision: FrozenRevision, read: () => Promise<BlockRow[]>): Promise<BlockRow[]> {
    // A revision without a hash is not frozen: never kept (findPublished reads only frozen ones).
    if (!revision.content_hash) return read();
    const key = `${revision.revision_id}|${revision.content_hash}`;
    const kept = this.blocks.get(key);
    if (kept) return kept;
    const rows = await read();
    this.blocks.set(key, rows);
    return rows;
  }

  /** The navigation rows for this key: kept ones when they were read under it, else read afresh (and
   * kept under the key they were read under, which may be newer). */
  async navigationFor(
    key: string,
    read: () => Promise<{ key: string; rows: NavigationRow[] }>,
  ): Promise<NavigationRow[]> {
    if (this.navigation?.key === key) return this.navigation.rows;
    const fresh = await read();
    this.navigation = fresh;
    return fresh.rows;
  }
}
