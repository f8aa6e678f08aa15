import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMarkdown } from "../../src/http/markdown.ts";

/** The attribute names of every tag in the HTML, reading quoted values as values (as a browser does). */
function attributeNames(html: string): string[] {
  const names: string[] = [];
  for (const tag of html.match(/<[a-z][a-z0-9]*(?:\s+[^\s=>]+(?:="[^"]*"|='[^']*'|=[^\s>]*)?)*\s*\/?>/gi) ??
    []) {
    for (const m of tag.matchAll(/\s([^\s=>]+)(?:="[^"]*"|='[^']*'|=[^\s>]*)?/g))
      names.push(m[1]!.toLowerCase());
  }
  return names;
}
const handlers = (html: string) => attributeNames(html).filter((n) => n.startsWith("on"));

test("raw HTML in a description is escaped, never rendered: no <script>, no onerror= attribute", () => {
  const script = renderMarkdown("Hello <script>alert(document.cookie)</script>");
  assert.doesNotMatch(script, /<script/i);
  assert.match(script, /&lt;script&gt;alert\(document\.cookie\)&lt;\/script&gt;/);
  const img = renderMarkdown('<img src=x onerror="alert(1)"> and <a href="#" onclick="x()">x</a>');
  assert.deepEqual(handlers(img), []);
  assert.doesNotMatch(img, /<img|<a /i);
  assert.match(img, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
  const block = renderMarkdown(
    '<div onmouseover="steal()">\n\n<iframe src="https://evil.example"></iframe>\n</div>',
  );
  assert.doesNotMatch(block, /<div|<iframe/i);
  assert.deepEqual(handlers(block), []);
});

test("links go to http(s) and mailto only; javascript:, data:, vbscript: and relative links stay text", () => {
  for (const bad of [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox)",
    "[x](/admin/system)",
    "<javascript:alert(1)>",
  ]) {
    const html = renderMarkdown(bad);
    assert.doesNotMatch(html, /<a\s/i, `${bad} must not become a link: ${html}`);
  }
  const good = renderMarkdown(
    "[site](https://club.example/a?b=1) [old](http://x.example) [mail](mailto:chair@club.example)",
  );
  assert.match(
    good,
    /<a href="https:\/\/club\.example\/a\?b=1" rel="nofollow noopener noreferrer">site<\/a>/,
  );
  assert.match(good, /<a href="http:\/\/x\.example" rel="nofollow noopener noreferrer">old<\/a>/);
  assert.match(good, /<a href="mailto:chair@club\.example" rel="nofollow noopener noreferrer">mail<\/a>/);
  const quoted = renderMarkdown('[t](https://x.example "a\\" onmouseover=\\"evil()")');
  assert.deepEqual(
    attributeNames(quoted),
    ["href", "title", "rel"],
    "a title cannot break out of its quotes",
  );
});

test("ordinary Markdown still renders; images are off so nothing is fetched from elsewhere", () => {
  const html = renderMarkdown(
    "**Bring** a *plate*\n\n- soup\n- bread\n\n![pixel](https://tracker.example/p.gif)",
  );
  assert.match(html, /<strong>Bring<\/strong> a <em>plate<\/em>/);
  assert.match(html, /<ul>\s*<li>soup<\/li>\s*<li>bread<\/li>\s*<\/ul>/);
  assert.doesNotMatch(html, /<img/i);
  assert.equal(renderMarkdown(""), "");
});

test("a description's HTML is kept by its text: the same text renders the same, an edited text never gets the old HTML", () => {
  const first = renderMarkdown("Meet at **the club house**.");
  assert.equal(renderMarkdown("Meet at **the club house**."), first);
  const edited = renderMarkdown("Meet at **the old mill**.");
  assert.match(edited, /<strong>the old mill<\/strong>/);
  assert.doesNotMatch(edited, /club house/);
  assert.equal(renderMarkdown("Meet at **the club house**."), first);
});
