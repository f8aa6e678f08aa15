import { renderToString } from "preact-render-to-string";
import { dateTimeFormat } from "../../core/time-format.ts";
import { renderMarkdown } from "../../http/markdown.ts";
import type { PageContext } from "../../http/page.tsx";
import { blockIsValid } from "./page-content.ts";
import type { BlockRow } from "./pages.repository.ts";
import type { BlockData } from "./pages.schemas.ts";

/* The published site as visitors see it. Views get only what the viewer may see: the routes have
 * dropped hidden pages and blocks before anything here runs, so a hidden block leaves no trace. */

/** An upcoming event as an event-list block shows it. */
export interface ListedEvent {
  id: string;
  title: string;
  starts_at: Date;
}

const when = (date: Date, timeZone: string) =>
  dateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(date));

const external = (href: string) => /^(https?:|mailto:)/i.test(href);

/** One block as visitors see it (throws when it has no renderer). */
export function Block({
  block,
  events,
  timeZone,
  fileBase,
}: {
  block: BlockRow;
  events: ListedEvent[];
  timeZone: string;
  fileBase: string;
}) {
  switch (block.type) {
    case "image": {
      const d = block.data as BlockData["image"];
      const img = <img src={`${fileBase}${d.file}`} alt={d.alt} loading="lazy" />;
      return d.caption ? (
        <figure>
          {img}
          <figcaption>{d.caption}</figcaption>
        </figure>
      ) : (
        <p class="image">{img}</p>
      );
    }
    case "file": {
      const d = block.data as BlockData["file"];
      return (
        <p class="file">
          <a href={`${fileBase}${d.file}`} download>
            {d.label}
          </a>
        </p>
      );
    }
    case "heading": {
      const d = block.data as BlockData["heading"];
      return d.level === 3 ? <h3>{d.text}</h3> : <h2>{d.text}</h2>;
    }
    case "text": {
      const d = block.data as BlockData["text"];
      return <div class="text" dangerouslySetInnerHTML={{ __html: renderMarkdown(d.markdown) }} />;
    }
    case "members_note": {
      const d = block.data as BlockData["members_note"];
      return (
        <aside class="block-note" aria-label="For members">
          <div dangerouslySetInnerHTML={{ __html: renderMarkdown(d.markdown) }} />
        </aside>
      );
    }
    case "call_to_action": {
      const d = block.data as BlockData["call_to_action"];
      return (
        <p class="cta">
          {d.text ? <>{d.text} </> : null}
          <a href={d.href} rel={external(d.href) ? "nofollow noopener noreferrer" : undefined}>
            {d.label}
          </a>
        </p>
      );
    }
    case "event_list": {
      const d = block.data as BlockData["event_list"];
      const shown = events.slice(0, d.limit);
      return (
        <section>
          <h2>{d.heading?.trim() || "Upcoming events"}</h2>
          {shown.length === 0 ? (
            <p>No events are planned yet.</p>
          ) : (
            <ul>
              {shown.map((e) => (
                <li key={e.id}>
                  <a href={`/events/${e.id}`}>{e.title}</a> · {when(e.starts_at, timeZone)}
                </li>
              ))}
            </ul>
          )}
        </section>
      );
    }
  }
  throw new Error(`no renderer for block type ${block.type}`);
}

/** A published revision's title and the blocks the viewer may see, as HTML text. Throws when any block
 * cannot be rendered (a type it does not know, data that does not fit its type): the caller then answers
 * as if the page did not exist, never with half a page. */
export function renderPageContent(
  revision: { title: string; slug: string },
  blocks: BlockRow[],
  events: ListedEvent[],
  timeZone: string,
): string {
  // The page's files are served under its own address, after its audience decision (page-files.routes).
  const fileBase = `/p/${revision.slug}/files/`;
  for (const block of blocks) {
    if (!blockIsValid(block)) throw new Error(`block ${block.position} (${block.type}) cannot be rendered`);
  }
  return renderToString(
    <article>
      <h1>{revision.title}</h1>
      {blocks.map((b) => (
        <Block key={b.id} block={b} events={events} timeZone={timeZone} fileBase={fileBase} />
      ))}
    </article>,
  );
}

/** Rendered content placed in the layout as it is (it was escaped when it was rendered). */
export function RenderedContent({ html, notice }: { html: string; notice?: string }) {
  return (
    <>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <div dangerouslySetInnerHTML={{ __html: html }} />
    </>
  );
}

/** The news page: posts the viewer may see, newest first. */
export function NewsList({
  posts,
}: {
  posts: { slug: string; title: string; summary: string; published_on: string | null }[];
}) {
  return (
    <section>
      <h1>News</h1>
      {posts.length === 0 ? <p>There is no news yet.</p> : null}
      {posts.map((p) => (
        <article key={p.slug}>
          <h2>
            <a href={`/p/${p.slug}`}>{p.title}</a>
          </h2>
          {p.published_on ? <p>{p.published_on}</p> : null}
          {p.summary ? <p>{p.summary}</p> : null}
        </article>
      ))}
    </section>
  );
}

/** The home page while the club has not published one: a welcome. */
export function WelcomeView({ page, clubName }: { page: PageContext; clubName: string }) {
  return (
    <section>
      <h1>Welcome to {clubName}</h1>
      {page.actor.type === "member" ? (
        <p>You are signed in as {page.actor.name}.</p>
      ) : (
        <p>
          Members can <a href="/login">log in</a> to see member pages and register for events.
        </p>
      )}
    </section>
  );
}

/** The word after a password change. */
export const PASSWORD_CHANGED = "Your password was changed. Other sessions were signed out.";
