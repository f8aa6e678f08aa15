import assert from "node:assert/strict";
import { before, test } from "node:test";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { makePage, type SampleViewer, sampleViewers, uniqueSlug } from "../helpers/pages.ts";

/* Site search (G08): PostgreSQL full-text search over published pages, on both engines; only what the
 * viewer may see is returned, and a hidden block's words neither match nor show. */

const results = (html: string) => /<ol class="search-results">([\s\S]*?)<\/ol>/.exec(html)?.[1] ?? "";

forEachEngine("[G08] site search", (engine) => {
  const t = suiteApp(engine);
  let viewers: Record<string, SampleViewer> = {};
  const word = () => `w${uniqueSlug("x").replace(/-/g, "")}`;
  const openWord = word();
  const blockWord = word();
  const membersWord = word();
  const draftWord = word();
  const open = uniqueSlug("open");
  const members = uniqueSlug("members");

  before(async () => {
    ({ viewers } = await sampleViewers(t.get().runtime, t.get().baseUrl));
    const db = t.get().runtime.database;
    await makePage(db, {
      slug: open,
      title: `Club rules ${openWord}`,
      blocks: [
        { type: "text", data: { markdown: `Everyone reads about ${openWord} here` } },
        { type: "text", data: { markdown: `Members know ${blockWord} too` }, audience: { type: "members" } },
      ],
    });
    await makePage(db, {
      slug: members,
      title: "Members' corner",
      audience: { type: "members" },
      blocks: [{ type: "heading", data: { text: `About ${membersWord}`, level: 2 } }],
    });
    await makePage(db, { slug: uniqueSlug("draft"), title: `Draft ${draftWord}`, publish: false });
  });

  test("[G08] a public page is found by its title and words, for anyone", async () => {
    const res = await viewers.anonymous!.client.get(`/search?q=${openWord}`);
    assert.equal(res.status, 200);
    assert.match(results(res.text), new RegExp(`href="/p/${open}"`));
    assert.match(res.text, /<form method="get" action="\/search">/);
    assert.equal(res.headers.get("cache-control"), "private, no-store");
  });

  test("[G08] a hidden block's words neither match nor show; a member finds them", async () => {
    const anonymous = await viewers.anonymous!.client.get(`/search?q=${blockWord}`);
    assert.equal(results(anonymous.text).trim(), "", "the public page is no hit through its hidden block");
    assert.match(anonymous.text, /Nothing matched/);
    const shown = await viewers.anonymous!.client.get(`/search?q=${openWord}`);
    assert.ok(!shown.text.includes(blockWord), "the hidden block is not in the summary of a hit either");
    const member = await viewers.member!.client.get(`/search?q=${blockWord}`);
    assert.match(results(member.text), new RegExp(`href="/p/${open}"`));
  });

  test("[G08] a members-only page is found by members only; drafts by nobody", async () => {
    const anonymous = await viewers.anonymous!.client.get(`/search?q=${membersWord}`);
    assert.ok(!results(anonymous.text).includes(members));
    assert.ok(!results(anonymous.text).includes("Members&#39;"));
    for (const who of ["member", "family"]) {
      const res = await viewers[who]!.client.get(`/search?q=${membersWord}`);
      assert.match(results(res.text), new RegExp(`href="/p/${members}"`), who);
    }
    // A suspended member lacks the member rights, so the members' rule leaves them out here too.
    const suspended = await viewers.suspended!.client.get(`/search?q=${membersWord}`);
    assert.ok(!results(suspended.text).includes(members));
    for (const who of Object.keys(viewers)) {
      const res = await viewers[who]!.client.get(`/search?q=${draftWord}`);
      assert.equal(results(res.text).trim(), "", `${who}: a draft is never found`);
    }
  });

  test("bad search input is a clear 400, never a 500; an empty search shows the form", async () => {
    const long = await viewers.anonymous!.client.get(`/search?q=${"a".repeat(201)}`);
    assert.equal(long.status, 400);
    const odd = await viewers.anonymous!.client.get(`/search?q=${encodeURIComponent("!!! & | ( :*")}`);
    assert.equal(odd.status, 200);
    const empty = await viewers.anonymous!.client.get("/search");
    assert.equal(empty.status, 200);
    assert.match(empty.text, /Search the site/);
  });
});
