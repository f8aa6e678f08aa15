import type { Actor } from "../../core/actor.ts";
import { BoundedMap } from "../../core/bounded-map.ts";
import type { ContentVersions } from "../../core/db/content-versions.ts";
import { KeptUnderVersion } from "../../core/kept-under-version.ts";
import type { Viewer } from "./audience.ts";
import type { NavigationRow, PublishedPageState } from "./page-serving.repository.ts";
import type { BlockRow, viewerRead } from "./pages.repository.ts";

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
  private readonly states = new BoundedMap<PublishedPageState | null>(1024);
  private readonly viewers = new KeptUnderVersion<Viewer>(4096);

  /** The page's state at the site version this request read (`site`), read after it when not kept. */
  async stateOf(
    site: string,
    slug: string,
    read: () => Promise<PublishedPageState | undefined>,
  ): Promise<PublishedPageState | undefined> {
    const key = `${site}|${slug}`;
    const kept = this.states.get(key);
    if (kept !== undefined) return kept ?? undefined;
    const state = await read();
    this.states.set(key, state ?? null);
    return state;
  }

  /** The viewer's facts at the request's versions: kept ones when read under the same access version
   * and the database's clock is still within the time they hold, else read afresh (and kept). */
  async viewerOf(
    versions: ContentVersions,
    actor: Actor,
    read: () => ReturnType<typeof viewerRead>,
  ): Promise<Viewer> {
    if (actor.type !== "member") return { kind: "anonymous" };
    const kept = this.viewers.get(actor.memberId, versions.access, versions.now);
    if (kept) return kept;
    const fresh = await read();
    if (fresh.kept) {
      const { accessVersion, readAt, until } = fresh.kept;
      this.viewers.keep(actor.memberId, fresh.viewer, accessVersion, readAt, until);
    }
    return fresh.viewer;
  }
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
