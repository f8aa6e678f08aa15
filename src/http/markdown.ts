import MarkdownIt from "markdown-it";

/** Event descriptions and page text blocks are Markdown written by volunteers and shown to everyone, so
 * this renderer is the one place HTML is produced from stored text: raw HTML is escaped (html: false), images are off
 * (nothing is fetched from elsewhere), and links may only go to http(s) or mailto addresses. */

const ALLOWED_LINK = /^(https?:\/\/|mailto:)/i;

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true });
md.disable(["image"]);
// markdown-it's own check only blocks a list of bad schemes; ours allows a list of good ones. It also
// decides autolinks and linkified text, so javascript:, data: and relative links all stay plain text.
md.validateLink = (url: string) => ALLOWED_LINK.test(url.trim());

const defaultLinkOpen =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // Links leave the club's site: no referrer, no window handle, no search-engine credit for spam.
  tokens[idx]!.attrSet("rel", "nofollow noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/* Rendering a description (linkify's patterns most of all) cost more than the rest of an event page.
 * The HTML is a function of the source text alone, the renderer's settings being fixed above, so recent
 * results are kept by that text: an edited description is a new key and can never get the old HTML, and
 * nothing about who asks goes in. Least recently used first out, within a bound on the characters kept. */
const rendered = new Map<string, string>();
const KEEP_CHARS = 2_000_000;
let keptChars = 0;

/** Renders Markdown (an event description, a page's text block) to HTML that is safe to insert into a page as it is. */
export function renderMarkdown(source: string): string {
  const text = source ?? "";
  const kept = rendered.get(text);
  if (kept !== undefined) {
    rendered.delete(text); // re-inserted: most recently used
    rendered.set(text, kept);
    return kept;
  }
  const html = md.render(text);
  const size = text.length + html.length;
  if (size > KEEP_CHARS / 10) return html;
  for (const [oldest, oldHtml] of rendered) {
    if (keptChars + size <= KEEP_CHARS) break;
    rendered.delete(oldest);
    keptChars -= oldest.length + oldHtml.length;
  }
  rendered.set(text, html);
  keptChars += size;
  return html;
}
