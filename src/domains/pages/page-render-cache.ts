import type { Actor } from "../../core/actor.ts";
import { BoundedMap } from "../../core/bounded-map.ts";
import type { ContentVersions } from "../../core/db/content-versions.ts";
import { KeptUnderVersion } from "../../core/kept-under-version.ts";
import { ANONYMOUS, type Viewer } from "./audience.ts";
import type { NavigationRow, PublishedPageState } from "./page-serving.repository.ts";
import type { BlockRow, viewerRead } from "./pages.repository.ts";

/* What a published-page request may reuse from an earlier one, in this process only. Nothing here
 * decides or skips an audience: every request reads the page's current state (publishedPageState) and
 * decides the page's and each block's audience for its own viewer first; only then does it look here.
 * The one exception needs no decision of its own: a request with no credentials is anonymous, and is
 * given the anonymous response kept on the page state it reads now (keptState), which was kept only
 * when that state's audience and every one of its blocks admitted everyone.
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
 *   cache could keep), on the page state they were rendered from (which names the revision, its content
 *   hash and the navigation key, and is one object for as long as the site version holds) and the
 *   system state they show.
 * - Whole responses for a signed-in session, by session and revision: each kept with the page state, the viewer
 *   facts (one object for as long as the access version holds), the system state and what of the actor
 *   the layout shows, and given again only while all four are the same. Never to another session. */

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
  private readonly publicResponses = new WeakMap<PublishedPageState, WholeResponse>();
  private readonly sessionResponses = new BoundedMap<WholeResponse>(1024);
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

  /** The page's state at the site version this request read, only if it is kept (never read here). */
  keptState(site: string, slug: string): PublishedPageState | undefined {
    return this.states.get(`${site}|${slug}`) ?? undefined;
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

  /** The whole anonymous response rendered from this very state object while the system state was as
   * now. */
  publicResponse(state: PublishedPageState, system: unknown): WholeResponse | undefined {
    return stillHolds(this.publicResponses.get(state), { state, viewer: ANONYMOUS, system, frame: "" });
  }

  /** Keeps the anonymous response and gives it. */
  keepPublicResponse(
    state: PublishedPageState,
    system: unknown,
    html: string,
    etag: string,
    headers: readonly string[],
  ): WholeResponse {
    const whole = kept({ state, viewer: ANONYMOUS, system, frame: "" }, html, etag, headers);
    this.publicResponses.set(state, whole);
    return whole;
  }

  /** The whole response this session was last given for this page revision, if it was made for the same viewer
   * facts, system state and frame. */
  sessionResponse(session: string, made: MadeFor): WholeResponse | undefined {
    return stillHolds(this.sessionResponses.get(`${session}|${made.state.revision_id}`), made);
  }

  keepSessionResponse(session: string, made: MadeFor, html: string): void {
    this.sessionResponses.set(`${session}|${made.state.revision_id}`, kept(made, html, "", []));
  }

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

/** What a whole response was made from. */
interface MadeFor {
  state: PublishedPageState;
  viewer: Viewer;
  system: unknown;
  /** actorFrameKey of who it was made for. */
  frame: string;
}

/** A whole response and what it was made from. */
export interface WholeResponse extends MadeFor {
  systemKey: string;
  /** The HTML as UTF-8, encoded once: it is sent as it is, many times. */
  bytes: Buffer;
  etag: string;
  /** Its cache and type headers as flat name, value pairs (what the front sends with it). */
  headers: readonly string[];
}

function kept(made: MadeFor, html: string, etag: string, headers: readonly string[]): WholeResponse {
  return { ...made, systemKey: JSON.stringify(made.system), bytes: Buffer.from(html), etag, headers };
}

/** The kept response if it was made from these very objects (the system state compared by value when
 * the watcher has read it again since), else undefined. */
function stillHolds(whole: WholeResponse | undefined, made: MadeFor): WholeResponse | undefined {
  if (!whole || whole.state !== made.state || whole.viewer !== made.viewer || whole.frame !== made.frame)
    return undefined;
  if (whole.system === made.system) return whole;
  if (whole.systemKey !== JSON.stringify(made.system)) return undefined;
  whole.system = made.system;
  return whole;
}
