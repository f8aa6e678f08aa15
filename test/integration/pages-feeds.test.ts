import assert from "node:assert/strict";
import { before, test } from "node:test";
import { unpublishPage } from "../../src/domains/pages/pages.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import {
  act,
  makePage,
  publisher,
  type SampleViewer,
  sampleViewers,
  uniqueSlug,
  versionOf,
} from "../helpers/pages.ts";

/* The Atom feed and sitemap.xml (G08, R-6): only what the reader may see, summaries without hidden
 * blocks, and shared caching only for what is the same for everyone. */

forEachEngine("[G08] the Atom feed and the sitemap", (engine) => {
  const t = suiteApp(engine);
  let viewers: Record<string, SampleViewer> = {};
  const mark = (what: string) => `${what}${uniqueSlug("m").replace(/-/g, "")}`;
  const publicNews = {
    slug: uniqueSlug("open-news"),
    title: mark("OpenNews"),
    hiddenBlock: mark("SecretBlock"),
  };
  const membersNews = { slug: uniqueSlug("members-news"), title: mark("MembersNews") };
  const membersPage = { slug: uniqueSlug("members-page"), title: mark("MembersPage") };
  const publicPage = { slug: uniqueSlug("open-page"), title: mark("OpenPage") };

  before(async () => {
    ({ viewers } = await sampleViewers(t.get().runtime, t.get().baseUrl));
    const db = t.get().runtime.database;
    // No summary: the feed builds one from the blocks the reader may see.
    await makePage(db, {
      slug: publicNews.slug,
      kind: "news",
      title: publicNews.title,
      blocks: [
        { type: "text", data: { markdown: "Everyone may read this opening" } },
        {
          type: "text",
          data: { markdown: `Members read ${publicNews.hiddenBlock}` },
          audience: { type: "members" },
        },
        { type: "members_note", data: { markdown: "A note for members" } },
      ],
    });
    await makePage(db, {
      slug: membersNews.slug,
      kind: "news",
      title: membersNews.title,
      audience: { type: "members" },
      blocks: [{ type: "text", data: { markdown: "members only news" } }],
    });
    await makePage(db, { slug: membersPage.slug, title: membersPage.title, audience: { type: "members" } });
    await makePage(db, { slug: publicPage.slug, title: publicPage.title });
  });

  test("[G08] anonymous feed readers get public news only, and its summary holds no hidden block", async () => {
    const res = await viewers.anonymous!.client.get("/news.atom");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/atom\+xml/);
    assert.match(res.text, /<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
    assert.ok(res.text.includes(publicNews.title));
    assert.match(res.text, /<summary>Everyone may read this opening<\/summary>/);
    assert.ok(!res.text.includes(publicNews.hiddenBlock), "a members-only block is not in the summary");
    assert.ok(!res.text.includes("A note for members"));
    assert.ok(!res.text.includes(membersNews.title), "a members-only post is not in the feed");
    assert.ok(!res.text.includes(membersNews.slug));
    // the news holds restricted content, so even the anonymous feed is not kept by shared caches.
    assert.equal(res.headers.get("cache-control"), "private, no-store");
  });

  test("[G08] a member's feed holds the members' post and the blocks they may see; never shared-cached", async () => {
    const res = await viewers.member!.client.get("/news.atom");
    assert.ok(res.text.includes(membersNews.title));
    assert.ok(res.text.includes(publicNews.hiddenBlock));
    assert.equal(res.headers.get("cache-control"), "private, no-store");
    const suspended = await viewers.suspended!.client.get("/news.atom");
    assert.ok(
      !suspended.text.includes(membersNews.title),
      "members rule: only members with the member rights, not a suspended one",
    );
  });

  test("[G08] the sitemap lists public published pages only, for everyone alike, and may be shared-cached", async () => {
    const everyone = (await viewers.anonymous!.client.get("/sitemap.xml")).text;
    for (const who of ["anonymous", "member", "editor"]) {
      const res = await viewers[who]!.client.get("/sitemap.xml");
      assert.equal(res.status, 200);
      assert.match(res.text, /<urlset xmlns="http:\/\/www.sitemaps.org\/schemas\/sitemap\/0.9">/);
      assert.match(res.text, new RegExp(`/p/${publicPage.slug}</loc>`));
      assert.match(res.text, new RegExp(`/p/${publicNews.slug}</loc>`));
      assert.ok(!res.text.includes(membersPage.slug), `${who}: no members-only page`);
      assert.ok(!res.text.includes(membersNews.slug), `${who}: no members-only post`);
      assert.equal(res.text, everyone, `${who} gets what everyone gets`);
      // A request with credentials is never answered for shared caches (src/http/headers.ts).
      if (who === "anonymous") {
        assert.match(res.headers.get("cache-control") ?? "", /^public/);
        assert.ok(res.headers.get("etag"));
      }
    }
  });

  test("[G08] an unpublished post leaves the feed and the sitemap", async () => {
    const slug = uniqueSlug("gone");
    const title = mark("GoneNews");
    const db = t.get().runtime.database;
    const page = await makePage(db, { slug, kind: "news", title });
    assert.ok((await viewers.anonymous!.client.get("/news.atom")).text.includes(title));
    await act(db, publisher(), unpublishPage, { pageId: page.id, version: await versionOf(db, page.id) });
    assert.ok(!(await viewers.anonymous!.client.get("/news.atom")).text.includes(title));
    assert.ok(!(await viewers.anonymous!.client.get("/sitemap.xml")).text.includes(slug));
  });
});

forEachEngine("[G08] R-6 on the feed: all-public news may be shared-cached", (engine) => {
  const t = suiteApp(engine);
  test("[G08] with only public news, anonymous readers get Cache-Control public with an ETag and 304", async () => {
    await makePage(t.get().runtime.database, { slug: uniqueSlug("pub"), kind: "news", title: "Public only" });
    const { Client } = await import("../helpers/http.ts");
    const anonymous = new Client(t.get().baseUrl);
    const res = await anonymous.get("/news.atom");
    assert.match(res.headers.get("cache-control") ?? "", /^public/);
    const etag = res.headers.get("etag")!;
    assert.equal((await anonymous.get("/news.atom", { "if-none-match": etag })).status, 304);
  });
});
