import MarkdownIt from "markdown-it";

/** Event descriptions are Markdown written by event managers and shown to everyone, so the renderer is
 * the one place HTML is produced from stored text: raw HTML is escaped (html: false), images are off
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

/** Renders an event description to HTML that is safe to insert into a page as it is. */
export function renderMarkdown(source: string): string {
  return md.render(source ?? "");
}
