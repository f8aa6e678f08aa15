import type { ComponentChildren } from "preact";
import { ROLES } from "../../core/capabilities.ts";
import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { MEMBER_STATUS_VALUES } from "../members/members.schemas.ts";
import { describeAudience } from "./audience.ts";
import { BLOCK_NAMES, blockIsValid, isBlockType, isFileBlockType } from "./page-content.ts";
import type { DiffLine } from "./pages.presenters.ts";
import type { BlockRow, PageRow, RevisionRow } from "./pages.repository.ts";
import { BLOCK_TYPES, type BlockData } from "./pages.schemas.ts";

/* The page editor, usable without JavaScript: one form per block (edit, move up or down, remove), the
 * draft's title and summary, the page's settings, and for publishers the audience, publish, unpublish,
 * archive and roll-back buttons. Every form carries the page version it was read at (W-4). */

/** Names the audience form shows. */
export interface AudienceChoices {
  tiers: { key: string; name: string }[];
  committees: { id: string; name: string }[];
}

const STATUS_WORDS: Record<string, string> = {
  draft: "Draft, never published",
  published: "Published",
  unpublished: "Taken off the site",
  archived: "Archived",
};

/** A small form posting to the editor, with its tokens and the page version. */
export function PostForm({
  page,
  action,
  version,
  children,
  inline,
  multipart,
}: {
  page: PageContext;
  action: string;
  version: number;
  children: ComponentChildren;
  inline?: boolean;
  multipart?: boolean;
}) {
  return (
    <form
      method="post"
      action={action}
      class={inline ? "inline" : undefined}
      enctype={multipart ? "multipart/form-data" : undefined}
    >
      <CsrfField page={page} />
      <FormToken />
      <input type="hidden" name="version" value={String(version)} />
      {children}
    </form>
  );
}

const at = (d: Date, timeZone: string) =>
  new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(d));
/** A size limit in words, like "10 MB". */
const maxSize = (bytes: number) =>
  `${(bytes / (1024 * 1024)).toLocaleString("en-GB", { maximumFractionDigits: 1 })} MB`;

/** The list of every page, and the form to create one. */
export function PageList({
  page,
  pages,
  scheduled,
}: {
  page: PageContext;
  pages: {
    id: string;
    slug: string;
    kind: string;
    status: string;
    title: string;
    published_number: number | null;
    draft_number: number | null;
  }[];
  /** When each page with a pending scheduled publish goes up. */
  scheduled?: ReadonlyMap<string, Date>;
}) {
  return (
    <section>
      <h1>Pages and news</h1>
      {pages.length === 0 ? (
        <p>No pages yet. The page with the address "home" is the club's home page.</p>
      ) : (
        <div class="scroll">
          <table>
            <caption>Every page and news post</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Address</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {pages.map((p) => (
                <tr key={p.id}>
                  <td>
                    <a href={`/admin/pages/${p.id}`}>{p.title}</a>
                  </td>
                  <td>{p.slug === "home" ? "/ (home)" : `/p/${p.slug}`}</td>
                  <td>{p.kind === "news" ? "News" : "Page"}</td>
                  <td>
                    {STATUS_WORDS[p.status] ?? p.status}
                    {p.published_number ? ` (revision ${p.published_number})` : ""}
                    {p.draft_number ? `; draft ${p.draft_number} in progress` : ""}
                    {scheduled?.get(p.id)
                      ? `; to be published ${at(scheduled.get(p.id)!, page.timeZone)}`
                      : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>New page</h2>
      <form method="post" action="/admin/pages">
        <CsrfField page={page} />
        <FormToken />
        <label for="new-title">Title</label>
        <input id="new-title" name="title" required maxLength={200} />
        <label for="new-slug">Address (lower-case letters, digits and hyphens)</label>
        <input id="new-slug" name="slug" required maxLength={80} pattern="[a-z0-9]+(-[a-z0-9]+)*" />
        <label for="new-kind">Kind</label>
        <select id="new-kind" name="kind">
          <option value="page">Page</option>
          <option value="news">News post</option>
        </select>
        <button type="submit">Create the draft</button>
      </form>
    </section>
  );
}

/** The audience form: everyone, signed-in members, or members with any of the ticked facts. */
function AudienceFields({
  prefix,
  rule,
  choices,
  inherit,
}: {
  prefix: string;
  rule: unknown;
  choices: AudienceChoices;
  inherit?: boolean;
}) {
  const r = (rule ?? null) as { type?: string; rules?: { type: string; [k: string]: unknown }[] } | null;
  const leaves = r === null ? [] : r.type === "any_of" ? (r.rules ?? []) : [r as { type: string }];
  const has = (type: string, field: string, value: string) =>
    leaves.some(
      (l) =>
        l.type === type && ((l as Record<string, unknown>)[field] as string[] | undefined)?.includes(value),
    );
  const who = r === null ? "inherit" : r.type === "public" || r.type === "members" ? r.type : "custom";
  const box = (name: string, type: string, value: string, label: string) => {
    const id = `${prefix}-${name}-${value}`;
    return (
      <div key={id}>
        <input type="checkbox" id={id} name={name} value={value} checked={has(type, name, value)} />{" "}
        <label for={id} class="inline">
          {label}
        </label>
      </div>
    );
  };
  return (
    <>
      <label for={`${prefix}-who`}>Who may see it</label>
      <select id={`${prefix}-who`} name="who">
        {inherit ? (
          <option value="inherit" selected={who === "inherit"}>
            As the page
          </option>
        ) : null}
        <option value="public" selected={who === "public"}>
          Everyone
        </option>
        <option value="members" selected={who === "members"}>
          Signed-in members in good standing
        </option>
        <option value="custom" selected={who === "custom"}>
          Members with any of the ticked statuses, tiers, committees or roles
        </option>
      </select>
      <fieldset>
        <legend>Statuses</legend>
        {MEMBER_STATUS_VALUES.map((s) => box("statuses", "statuses", s, s))}
      </fieldset>
      <fieldset>
        <legend>Tiers</legend>
        {choices.tiers.map((t) => box("tiers", "tiers", t.key, t.name))}
      </fieldset>
      {choices.committees.length ? (
        <fieldset>
          <legend>Committees</legend>
          {choices.committees.map((c) => box("committees", "committees", c.id, c.name))}
        </fieldset>
      ) : null}
      <fieldset>
        <legend>Roles</legend>
        {Object.entries(ROLES).map(([key, role]) => box("roles", "roles", key, role.name))}
      </fieldset>
    </>
  );
}

/** The fields of one block's form, by its type. */
function BlockFields({ block, pageId }: { block: BlockRow; pageId: string }) {
  const id = (f: string) => `b-${block.id}-${f}`;
  const field = (
    name: string,
    label: string,
    value: string,
    options: { long?: boolean; max?: number } = {},
  ) => (
    <>
      <label for={id(name)}>{label}</label>
      {options.long ? (
        <textarea id={id(name)} name={name} rows={8} maxLength={options.max}>
          {value}
        </textarea>
      ) : (
        <input id={id(name)} name={name} value={value} maxLength={options.max} />
      )}
    </>
  );
  const data = (block.data ?? {}) as Record<string, unknown>;
  const s = (k: string) => (data[k] === undefined || data[k] === null ? "" : String(data[k]));
  switch (block.type) {
    case "heading":
      return (
        <>
          {field("text", "Heading text", s("text"), { max: 200 })}
          <label for={id("level")}>Level</label>
          <select id={id("level")} name="level">
            <option value="2" selected={(data as BlockData["heading"]).level !== 3}>
              Section heading
            </option>
            <option value="3" selected={(data as BlockData["heading"]).level === 3}>
              Sub-heading
            </option>
          </select>
        </>
      );
    case "text":
    case "members_note":
      return field("markdown", "Text (Markdown: *emphasis*, lists, links; no HTML)", s("markdown"), {
        long: true,
        max: 20_000,
      });
    case "call_to_action":
      return (
        <>
          {field("text", "Lead-in text (optional)", s("text"), { max: 500 })}
          {field("label", "Link text", s("label"), { max: 100 })}
          {field("href", "Link address (/path, https://... or mailto:...)", s("href"), { max: 500 })}
        </>
      );
    case "event_list":
      return (
        <>
          {field("heading", "Heading (optional)", s("heading"), { max: 200 })}
          {field("limit", "How many events (1 to 20)", s("limit"), { max: 3 })}
        </>
      );
    case "image":
      return (
        <>
          <p>
            <img src={`/admin/pages/${pageId}/files/${s("file")}`} alt={s("alt")} class="preview" />
          </p>
          {field("alt", "Description for people who cannot see the image (alt text, required)", s("alt"), {
            max: 300,
          })}
          {field("caption", "Caption (optional)", s("caption"), { max: 300 })}
        </>
      );
    case "file":
      return (
        <>
          <p>
            <a href={`/admin/pages/${pageId}/files/${s("file")}`}>Open the file</a>
          </p>
          {field("label", "Link text", s("label"), { max: 100 })}
        </>
      );
    default:
      return <p>This kind of block cannot be edited here.</p>;
  }
}

/** One block: its fields, move, remove, and (publishers) its audience. */
function BlockEditor(props: {
  page: PageContext;
  pageId: string;
  version: number;
  block: BlockRow;
  count: number;
  canPublish: boolean;
  choices: AudienceChoices;
}) {
  const { page, pageId, version, block, count } = props;
  const base = `/admin/pages/${pageId}/blocks/${block.id}`;
  const kind = isBlockType(block.type) ? BLOCK_NAMES[block.type] : block.type;
  return (
    <section aria-labelledby={`b-${block.id}`}>
      <h3 id={`b-${block.id}`}>
        Block {block.position}: {kind}
      </h3>
      <p>Shown to: {block.audience === null ? "as the page" : describeAudience(block.audience)}</p>
      {blockIsValid(block) ? null : (
        <p class="error" role="alert">
          This block is not complete or not valid, so the page cannot be published until it is corrected or
          removed.
        </p>
      )}
      <PostForm page={page} action={base} version={version}>
        <input type="hidden" name="type" value={block.type} />
        <BlockFields block={block} pageId={props.pageId} />
        <button type="submit">Save block {block.position}</button>
      </PostForm>
      {block.position > 1 ? (
        <PostForm page={page} action={`${base}/move`} version={version} inline>
          <input type="hidden" name="direction" value="up" />
          <button type="submit">Move block {block.position} up</button>
        </PostForm>
      ) : null}{" "}
      {block.position < count ? (
        <PostForm page={page} action={`${base}/move`} version={version} inline>
          <input type="hidden" name="direction" value="down" />
          <button type="submit">Move block {block.position} down</button>
        </PostForm>
      ) : null}{" "}
      <PostForm page={page} action={`${base}/remove`} version={version} inline>
        <button type="submit">Remove block {block.position}</button>
      </PostForm>
      {props.canPublish ? (
        <details>
          <summary>Who may see block {block.position}</summary>
          <PostForm page={page} action={`${base}/audience`} version={version}>
            <AudienceFields prefix={`ba-${block.id}`} rule={block.audience} choices={props.choices} inherit />
            <button type="submit">Set who sees block {block.position}</button>
          </PostForm>
        </details>
      ) : null}
    </section>
  );
}

/** A revision in the history list. */
export interface HistoryRow {
  id: string;
  number: number;
  title: string;
  frozen: boolean;
  created_by: string;
  created_by_name: string | null;
  created_at: Date;
  published_by: string | null;
  published_by_name: string | null;
  published_at: Date | null;
  based_on: number | null;
}

/** The editor of one page. */
export function PageEditor(props: {
  page: PageContext;
  row: PageRow;
  draft: RevisionRow | undefined;
  shown: RevisionRow | undefined;
  blocks: BlockRow[];
  history: HistoryRow[];
  parents: { id: string; slug: string }[];
  choices: AudienceChoices;
  notice?: string;
  /** Previews, share links and the scheduled publish (preview.views.tsx). */
  previews?: ComponentChildren;
  /** The upload limit (CLUBOS_PAGE_FILE_MAX_BYTES), shown beside the file field. */
  maxFileBytes: number;
}) {
  const { page, row, draft, shown, blocks, history } = props;
  const canPublish = page.actor.capabilities.has("pages:publish");
  const base = `/admin/pages/${row.id}`;
  const v = row.version;
  const archived = row.status === "archived";
  const address = row.slug === "home" ? "/" : `/p/${row.slug}`;
  return (
    <section>
      <h1>{shown?.title ?? row.slug}</h1>
      <Notice text={props.notice} />
      <p>
        {STATUS_WORDS[row.status] ?? row.status}
        {row.status === "published" ? (
          <>
            {" "}
            at <a href={address}>{address}</a>
          </>
        ) : null}
        .{" "}
        {draft
          ? `Draft ${draft.number} is being edited.`
          : "There is no draft: below is the content as last published."}
      </p>
      {!archived && canPublish ? (
        <p>
          {draft ? (
            <PostForm page={page} action={`${base}/publish`} version={v} inline>
              <button type="submit">Publish draft {draft.number}</button>
            </PostForm>
          ) : null}{" "}
          {row.status === "published" ? (
            <PostForm page={page} action={`${base}/unpublish`} version={v} inline>
              <button type="submit">Take the page off the site</button>
            </PostForm>
          ) : null}{" "}
          <PostForm page={page} action={`${base}/archive`} version={v} inline>
            <button type="submit">Archive the page</button>
          </PostForm>
        </p>
      ) : null}
      {!archived && !canPublish ? (
        <p>You can edit the draft; a club member who may publish makes it visible.</p>
      ) : null}
      {props.previews}

      <h2>Content</h2>
      {!draft && !archived ? (
        <PostForm page={page} action={`${base}/start-draft`} version={v}>
          <button type="submit">Start a new draft from this content</button>
        </PostForm>
      ) : null}
      {draft && !archived ? (
        <>
          <PostForm page={page} action={`${base}/draft`} version={v}>
            <label for="draft-title">Title</label>
            <input id="draft-title" name="title" value={draft.title} required maxLength={200} />
            <label for="draft-summary">Summary for listings (shown in the news and to search engines)</label>
            <textarea id="draft-summary" name="summary" rows={3} maxLength={1000}>
              {draft.summary}
            </textarea>
            <button type="submit">Save title and summary</button>
          </PostForm>
          <p>Shown to: {describeAudience(draft.audience)}</p>
          {canPublish ? (
            <details>
              <summary>Who may see this page</summary>
              <PostForm page={page} action={`${base}/audience`} version={v}>
                <AudienceFields prefix="page-audience" rule={draft.audience} choices={props.choices} />
                <button type="submit">Set who sees the page</button>
              </PostForm>
            </details>
          ) : null}
          {blocks.map((b) => (
            <BlockEditor
              key={b.id}
              page={page}
              pageId={row.id}
              version={v}
              block={b}
              count={blocks.length}
              canPublish={canPublish}
              choices={props.choices}
            />
          ))}
          <h3>Add a block</h3>
          <PostForm page={page} action={`${base}/blocks`} version={v}>
            <label for="new-block-type">Kind of block</label>
            <select id="new-block-type" name="type">
              {BLOCK_TYPES.filter((t) => !isFileBlockType(t)).map((t) => (
                <option key={t} value={t}>
                  {BLOCK_NAMES[t]}
                </option>
              ))}
            </select>
            <button type="submit">Add the block at the end</button>
          </PostForm>
          <h3>Add an image or a file</h3>
          <PostForm page={page} action={`${base}/files`} version={v} multipart>
            <fieldset>
              <legend>What it is</legend>
              <input type="radio" id="upload-kind-image" name="kind" value="image" checked />
              <label for="upload-kind-image">An image shown in the page</label>
              <input type="radio" id="upload-kind-file" name="kind" value="file" />
              <label for="upload-kind-file">A file to download (PDF, office document)</label>
            </fieldset>
            <label for="upload-file">File (at most {maxSize(props.maxFileBytes)})</label>
            <input type="file" id="upload-file" name="file" required />
            <label for="upload-alt">
              For an image: a description for people who cannot see it (alt text)
            </label>
            <input id="upload-alt" name="alt" maxLength={300} />
            <label for="upload-caption">For an image: a caption (optional)</label>
            <input id="upload-caption" name="caption" maxLength={300} />
            <label for="upload-label">For a file: the text of its link</label>
            <input id="upload-label" name="label" maxLength={100} />
            <button type="submit">Upload, as a new block at the end</button>
          </PostForm>
        </>
      ) : (
        <ol>
          {blocks.map((b) => (
            <li key={b.id}>{isBlockType(b.type) ? BLOCK_NAMES[b.type] : b.type}</li>
          ))}
        </ol>
      )}

      {!archived ? (
        <>
          <h2>Address and navigation</h2>
          <PostForm page={page} action={`${base}/settings`} version={v}>
            <label for="set-slug">Address</label>
            <input id="set-slug" name="slug" value={row.slug} required maxLength={80} />
            <label for="set-nav">Place in the site menu (a number; empty: not in the menu)</label>
            <input
              id="set-nav"
              name="navOrder"
              value={row.nav_order === null ? "" : String(row.nav_order)}
              inputMode="numeric"
              maxLength={6}
            />
            <label for="set-parent">Listed under</label>
            <select id="set-parent" name="navParent">
              <option value="">No other page</option>
              {props.parents.map((p) => (
                <option key={p.id} value={p.id} selected={row.nav_parent_id === p.id}>
                  {p.slug}
                </option>
              ))}
            </select>
            {row.kind === "news" ? (
              <>
                <label for="set-date">News date (set at first publication if empty)</label>
                <input id="set-date" name="publishedOn" type="date" value={row.published_on ?? ""} />
              </>
            ) : null}
            <button type="submit">Save address and navigation</button>
          </PostForm>
        </>
      ) : null}

      <h2>History</h2>
      <div class="scroll">
        <table>
          <caption>Every revision, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Made</th>
              <th scope="col">Published</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {history.map((h) => (
              <tr key={h.id}>
                <td>
                  {h.number}: {h.title}
                  {h.based_on ? ` (from revision ${h.based_on})` : ""}
                  {row.current_published_revision_id === h.id ? " · on the site now" : ""}
                </td>
                <td>
                  {at(h.created_at, page.timeZone)} by {h.created_by_name ?? h.created_by}
                </td>
                <td>
                  {h.published_at
                    ? `${at(h.published_at, page.timeZone)} by ${h.published_by_name ?? h.published_by}`
                    : "not published (draft)"}
                </td>
                <td>
                  {h.number > 1 ? (
                    <a href={`${base}/diff?from=${h.number - 1}&to=${h.number}`}>
                      Changes in revision {h.number}
                    </a>
                  ) : null}
                  {canPublish && !archived && h.frozen && row.current_published_revision_id !== h.id ? (
                    <PostForm page={page} action={`${base}/rollback`} version={v} inline>
                      <input type="hidden" name="revision" value={String(h.number)} />{" "}
                      <button type="submit">Publish revision {h.number} again</button>
                    </PostForm>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The difference between two revisions, line by line (marked in words, not only in colour). */
export function DiffView(props: { pageId: string; from: number; to: number; lines: DiffLine[] }) {
  const mark = { same: "  ", added: "+ ", removed: "- " } as const;
  return (
    <section>
      <h1>
        Changes from revision {props.from} to revision {props.to}
      </h1>
      <p>
        Lines starting with + were added in revision {props.to}; lines starting with - were in revision{" "}
        {props.from} and are gone.
      </p>
      <pre class="diff">
        {props.lines.map((l, i) =>
          l.change === "same" ? (
            <span key={i}>{`${mark.same}${l.text}\n`}</span>
          ) : l.change === "added" ? (
            <ins key={i}>{`${mark.added}${l.text}\n`}</ins>
          ) : (
            <del key={i}>{`${mark.removed}${l.text}\n`}</del>
          ),
        )}
      </pre>
      <p>
        <a href={`/admin/pages/${props.pageId}`}>Back to the page</a>
      </p>
    </section>
  );
}
