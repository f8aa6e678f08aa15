import { renderToString } from "preact-render-to-string";
import { dateTimeFormat } from "../../core/time-format.ts";
import { localInputValue } from "../../http/local-time.ts";
import type { PageContext } from "../../http/page.tsx";
import { describeAudience } from "./audience.ts";
import { blockIsValid } from "./page-content.ts";
import { PostForm } from "./pages.admin.views.tsx";
import type { BlockRow } from "./pages.repository.ts";
import { Block, type ListedEvent } from "./pages.views.tsx";
import { PREVIEW_LINK_HOURS } from "./preview.actions.ts";

/* Previews: a revision as it would look, under a banner no one can miss. Editors see what keeps a block
 * from rendering, with its context; a reviewer through a share link sees the page whole or an error. */

const at = (d: Date, timeZone: string) =>
  dateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(d));

/** The banner every preview carries. */
export function PreviewBanner({ text }: { text: string }) {
  return (
    <p class="notice preview-banner" role="status">
      <strong>Preview</strong>: {text}
    </p>
  );
}

/** What kept a block from rendering, for an editor. */
export interface BlockFailure {
  position: number;
  type: string;
  reason: string;
  data: string;
}

/** The revision's blocks rendered one by one: each that fails is reported with its context instead of
 * taking the page down, so the editor can see what to fix. */
export function renderPreviewBlocks(
  blocks: BlockRow[],
  events: ListedEvent[] | Error,
  timeZone: string,
  fileBase: string,
): { html: string[]; failures: BlockFailure[] } {
  const html: string[] = [];
  const failures: BlockFailure[] = [];
  for (const b of blocks) {
    const fail = (reason: string) =>
      failures.push({
        position: b.position,
        type: b.type,
        reason,
        data: JSON.stringify(b.data).slice(0, 500),
      });
    if (!blockIsValid(b)) {
      fail("its type is unknown or its fields do not fit its type");
      continue;
    }
    if (b.type === "event_list" && events instanceof Error) {
      fail(`the upcoming events could not be read (${events.message})`);
      continue;
    }
    try {
      html.push(
        renderToString(
          <Block
            block={b}
            events={events instanceof Error ? [] : events}
            timeZone={timeZone}
            fileBase={fileBase}
          />,
        ),
      );
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
  }
  return { html, failures };
}

/** A revision in preview: the banner, what keeps it from being published whole, then the content. */
export function PreviewView(props: {
  title: string;
  revision: number;
  audience: unknown;
  frozen: boolean;
  html: string[];
  failures: BlockFailure[];
  editorHref?: string;
}) {
  return (
    <>
      <PreviewBanner
        text={`revision ${props.revision}${props.frozen ? " (published once)" : " (draft)"}, not what visitors see. Once published it is shown to ${describeAudience(props.audience)}.`}
      />
      {props.editorHref ? (
        <p>
          <a href={props.editorHref}>Back to the editor</a>
        </p>
      ) : null}
      {props.failures.length ? (
        <section class="block-errors" aria-labelledby="block-errors">
          <h2 id="block-errors">Blocks that cannot be shown</h2>
          <p>
            Published like this, the page would not be shown at all (visitors would get "not found"). Correct
            these blocks in the editor:
          </p>
          <ul>
            {props.failures.map((f) => (
              <li key={f.position}>
                Block {f.position} ({f.type}): {f.reason}. Its data: <code>{f.data}</code>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <article>
        <h1>{props.title}</h1>
        {props.html.map((h, i) => (
          <div key={i} dangerouslySetInnerHTML={{ __html: h }} />
        ))}
      </article>
    </>
  );
}

/** The page for a preview that cannot be shown: never the published page instead. */
export function PreviewErrorView({ message }: { message: string }) {
  return (
    <>
      <PreviewBanner text="nothing to show." />
      <h1>This preview cannot be shown</h1>
      <p>{message}</p>
    </>
  );
}

/** A share link just made: shown once, as only its hash is kept. */
export function NewLinkView(props: {
  pageId: string;
  url: string;
  revision: number;
  expiresAt: Date;
  timeZone: string;
}) {
  return (
    <section>
      <h1>Preview link for revision {props.revision}</h1>
      <p>
        Send this link to the reviewer. It works until {at(props.expiresAt, props.timeZone)} and shows only
        revision {props.revision}. It is shown only now: copy it before leaving this page.
      </p>
      <p>
        <label for="preview-link">Preview link</label>
        <input id="preview-link" readOnly value={props.url} size={80} />
      </p>
      <p>
        <a href={`/admin/pages/${props.pageId}`}>Back to the page</a>
      </p>
    </section>
  );
}

/** The editor's section for previews, share links and the scheduled publish. */
export function PreviewSection(props: {
  page: PageContext;
  pageId: string;
  version: number;
  revisions: number[];
  shownRevision: number | undefined;
  draftNumber: number | undefined;
  links: { id: string; number: number; expires_at: Date; revoked_at: Date | null; open: boolean }[];
  schedule: { publish_at: Date } | undefined;
  canPublish: boolean;
}) {
  const { page, pageId } = props;
  const base = `/admin/pages/${pageId}`;
  const tz = page.timeZone;
  const canPreview = page.actor.capabilities.has("pages:preview");
  return (
    <section aria-labelledby="previews">
      <h2 id="previews">Preview and schedule</h2>
      {canPreview && props.shownRevision ? (
        <p>
          <a href={`/preview/pages/${pageId}`}>Preview revision {props.shownRevision}</a>
        </p>
      ) : null}
      {canPreview && props.revisions.length ? (
        <details>
          <summary>Share a preview with someone without an account</summary>
          <PostForm page={page} action={`${base}/preview-links`} version={props.version}>
            <label for="link-revision">Revision</label>
            <select id="link-revision" name="revision">
              {props.revisions.map((n) => (
                <option key={n} value={String(n)} selected={n === props.shownRevision}>
                  {n}
                </option>
              ))}
            </select>
            <label for="link-hours">Works for (hours, at most {PREVIEW_LINK_HOURS.max})</label>
            <input
              id="link-hours"
              name="hours"
              inputMode="numeric"
              value={String(PREVIEW_LINK_HOURS.default)}
              maxLength={3}
            />
            <button type="submit">Make a preview link</button>
          </PostForm>
        </details>
      ) : null}
      {props.links.length ? (
        <ul>
          {props.links.map((l) => (
            <li key={l.id}>
              Link to revision {l.number}:{" "}
              {l.revoked_at
                ? "revoked"
                : l.open
                  ? `works until ${at(l.expires_at, tz)}`
                  : `expired ${at(l.expires_at, tz)}`}
              {l.open && canPreview ? (
                <PostForm
                  page={page}
                  action={`${base}/preview-links/${l.id}/revoke`}
                  version={props.version}
                  inline
                >
                  {" "}
                  <button type="submit">Revoke link to revision {l.number}</button>
                </PostForm>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {props.schedule ? (
        <p>
          To be published {at(props.schedule.publish_at, tz)}.{" "}
          {props.canPublish ? (
            <PostForm page={page} action={`${base}/schedule/cancel`} version={props.version} inline>
              <button type="submit">Cancel the scheduled publish</button>
            </PostForm>
          ) : null}
        </p>
      ) : props.canPublish && props.draftNumber ? (
        <PostForm page={page} action={`${base}/schedule`} version={props.version}>
          <label for="schedule-at">Publish draft {props.draftNumber} at (club time)</label>
          <input
            id="schedule-at"
            name="publishAt"
            type="datetime-local"
            required
            value={localInputValue(new Date(Date.now() + 60 * 60_000), tz)}
          />
          <button type="submit">Schedule the publish</button>
        </PostForm>
      ) : null}
    </section>
  );
}
