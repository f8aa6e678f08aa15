import assert from "node:assert/strict";
import { before, test } from "node:test";
import { sql } from "kysely";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { makePage, type SampleViewer, sampleViewers, uniqueSlug } from "../helpers/pages.ts";

/* The pages JSON API (G08, R-2, R-6): the published pages, posts and blocks a viewer may see, a hidden
 * page answered byte for byte like a missing one, hidden blocks left out on the server, and shared caching
 * only for what everyone gets alike. */

forEachEngine("[G08] the pages JSON API", (engine) => {
  const t = suiteApp(engine);
  let viewers: Record<string, SampleViewer> = {};
  const mark = (what: string) => `${what}${uniqueSlug("m").replace(/-/g, "")}`;
  const open = { slug: uniqueSlug("api-open"), title: mark("OpenTitle"), hidden: mark("HiddenBlock") };
  const plain = { slug: uniqueSlug("api-plain"), title: mark("PlainTitle") };
  const members = { slug: uniqueSlug("api-members"), title: mark("MembersTitle"), body: mark("MembersBody") };
  const news = { slug: uniqueSlug("api-news"), title: mark("NewsTitle") };
  const membersNews = { slug: uniqueSlug("api-mnews"), title: mark("MembersNews") };
  let broken = "";

  before(async () => {
    ({ viewers } = await sampleViewers(t.get().runtime, t.get().baseUrl));
    const database = t.get().runtime.database;
    await makePage(database, {
      slug: open.slug,
      title: open.title,
      blocks: [
        { type: "heading", data: { text: "Welcome", level: 2 } },
        { type: "text", data: { markdown: "Everyone reads *this*" } },
        { type: "text", data: { markdown: `Members read ${open.hidden}` }, audience: { type: "members" } },
        { type: "members_note", data: { markdown: `Note ${open.hidden}` } },
        { type: "call_to_action", data: { label: "Join us", href: "/join" } },
      ],
    });
    await makePage(database, {
      slug: plain.slug,
      title: plain.title,
      blocks: [{ type: "text", data: { markdown: "Plain words for all" } }],
    });
    await makePage(database, {
      slug: members.slug,
      title: members.title,
      audience: { type: "members" },
      blocks: [{ type: "text", data: { markdown: members.body } }],
    });
    await makePage(database, {
      slug: news.slug,
      kind: "news",
      title: news.title,
      blocks: [
        { type: "text", data: { markdown: "News for everyone" } },
        { type: "text", data: { markdown: `News ${open.hidden}` }, audience: { type: "members" } },
      ],
    });
    await makePage(database, {
      slug: membersNews.slug,
      kind: "news",
      title: membersNews.title,
      audience: { type: "members" },
    });
    // A published page whose block the renderer refuses (as a bad restore might leave it).
    const page = await makePage(database, { slug: uniqueSlug("api-broken"), title: mark("Broken") });
    broken = page.slug;
    await sql`ALTER TABLE page_blocks DISABLE TRIGGER page_blocks_frozen`.execute(database.db);
    try {
      await sql`INSERT INTO page_blocks (revision_id, position, type, data)
        VALUES (${page.current_published_revision_id}, 99, 'alien', '{}')`.execute(database.db);
    } finally {
      await sql`ALTER TABLE page_blocks ENABLE TRIGGER page_blocks_frozen`.execute(database.db);
    }
  });

  const json = async (viewer: SampleViewer, path: string, headers?: Record<string, string>) => {
    const res = await viewer.client.get(path, headers);
    return { ...res, body: res.status === 200 ? JSON.parse(res.text) : undefined };
  };

  test("a page lists only what the viewer may see; a hidden page answers exactly like a missing one", async () => {
    for (const [who, viewer] of Object.entries(viewers)) {
      const seesMembers = who !== "anonymous" && who !== "suspended";
      const list = await json(viewer, "/api/v1/pages");
      assert.equal(list.status, 200);
      const slugs = list.body.pages.map((p: { slug: string }) => p.slug);
      assert.ok(slugs.includes(open.slug), `${who}: the public page is listed`);
      assert.equal(slugs.includes(members.slug), seesMembers, `${who}: the members' page`);
      assert.equal(list.text.includes(members.title), seesMembers, `${who}: its title`);
      const missing = await viewer.client.get(`/api/v1/pages/${uniqueSlug("absent")}`);
      assert.equal(missing.status, 404);
      const res = await viewer.client.get(`/api/v1/pages/${members.slug}`);
      if (seesMembers) {
        assert.equal(res.status, 200, who);
        assert.ok(res.text.includes(members.body));
      } else {
        assert.equal(res.status, 404, `${who}: hidden`);
        assert.equal(res.text, missing.text, `${who}: the same body as a missing page`);
        assert.equal(res.headers.get("cache-control"), missing.headers.get("cache-control"));
        assert.ok(!res.text.includes(members.title) && !res.text.includes(members.slug));
      }
    }
  });

  test("a page's blocks come as a JSON list without the blocks the viewer may not see", async () => {
    const anon = await json(viewers.anonymous!, `/api/v1/pages/${open.slug}`);
    assert.equal(anon.status, 200);
    assert.equal(anon.body.title, open.title);
    assert.deepEqual(anon.body.blocks, [
      { type: "heading", text: "Welcome", level: 2 },
      { type: "text", html: "<p>Everyone reads <em>this</em></p>\n" },
      { type: "call_to_action", label: "Join us", href: "/join" },
    ]);
    assert.ok(!anon.text.includes(open.hidden), "no hidden block, not even in the summary");
    const member = await json(viewers.member!, `/api/v1/pages/${open.slug}`);
    assert.deepEqual(
      member.body.blocks.map((b: { type: string }) => b.type),
      ["heading", "text", "text", "members_note", "call_to_action"],
    );
    assert.ok(member.text.includes(open.hidden));
    const suspended = await json(viewers.suspended!, `/api/v1/pages/${open.slug}`);
    assert.ok(
      !suspended.text.includes(open.hidden),
      "a member without the member rights sees what anyone does",
    );
    const listed = (await json(viewers.anonymous!, "/api/v1/pages")).body.pages.find(
      (p: { slug: string }) => p.slug === open.slug,
    );
    assert.equal(listed.summary.includes("Everyone reads"), true, "summarised from what the viewer may see");
    assert.ok(!listed.summary.includes(open.hidden));
  });

  test("a page that cannot be presented whole is 404 like a missing page, never 500 or half a page", async () => {
    const missing = await viewers.anonymous!.client.get(`/api/v1/pages/${uniqueSlug("absent")}`);
    const res = await viewers.anonymous!.client.get(`/api/v1/pages/${broken}`);
    assert.equal(res.status, 404);
    assert.equal(res.text, missing.text);
  });

  test("[G08] R-6: a page everyone gets alike is public with an ETag (304 on a match); anything else private", async () => {
    const first = await viewers.anonymous!.client.get(`/api/v1/pages/${plain.slug}`);
    assert.equal(first.headers.get("cache-control"), "public, max-age=60");
    const etag = first.headers.get("etag");
    assert.match(etag ?? "", /^"[\w-]{27}"$/);
    const again = await viewers.anonymous!.client.get(`/api/v1/pages/${plain.slug}`, {
      "if-none-match": etag!,
    });
    assert.equal(again.status, 304);
    for (const path of [`/api/v1/pages/${open.slug}`, "/api/v1/pages", "/api/v1/news"]) {
      const res = await viewers.anonymous!.client.get(path);
      assert.equal(res.status, 200, path);
      assert.equal(
        res.headers.get("cache-control"),
        "private, no-store",
        `${path}: restricted content on it`,
      );
      assert.equal(res.headers.get("etag"), null);
    }
    const signedIn = await viewers.member!.client.get(`/api/v1/pages/${plain.slug}`);
    assert.equal(
      signedIn.headers.get("cache-control"),
      "private, no-store",
      "a signed-in answer is personal",
    );
    const hidden = await viewers.anonymous!.client.get(`/api/v1/pages/${members.slug}`);
    assert.equal(hidden.headers.get("cache-control"), "private, no-store");
  });

  test("news lists the posts the viewer may see, newest first, summaries without hidden blocks", async () => {
    const anon = await json(viewers.anonymous!, "/api/v1/news");
    const slugs = anon.body.posts.map((p: { slug: string }) => p.slug);
    assert.ok(slugs.includes(news.slug));
    assert.ok(!slugs.includes(membersNews.slug));
    assert.ok(!anon.text.includes(membersNews.title));
    assert.ok(!anon.text.includes(open.hidden));
    const post = anon.body.posts.find((p: { slug: string }) => p.slug === news.slug);
    assert.match(post.publishedOn, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(!Number.isNaN(Date.parse(post.updated)));
    const member = await json(viewers.member!, "/api/v1/news");
    assert.ok(member.body.posts.some((p: { slug: string }) => p.slug === membersNews.slug));
    assert.ok(member.text.includes(open.hidden));
    const suspended = await json(viewers.suspended!, "/api/v1/news");
    assert.ok(!suspended.text.includes(membersNews.title));
  });
});
