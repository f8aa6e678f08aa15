import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, test } from "node:test";
import { sql } from "kysely";
import type { Database } from "../../src/core/db/connect.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { makePage, sampleViewers, uniqueSlug } from "../helpers/pages.ts";

const marker = (name: string) => `marker-${name}-${randomBytes(4).toString("hex")}`;
const text = (markdown: string, audience?: unknown) => ({ type: "text", data: { markdown }, audience });

/** Publishes a page whose stored audience or blocks the editor could never make (an unknown rule, a block
 * type the renderer does not know), the way a bad restore or a bug might leave them. */
async function publishRaw(
  database: Database,
  slug: string,
  audience: unknown,
  blocks: { type: string; data: unknown }[],
) {
  const db = database.db;
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string }>`INSERT INTO pages (slug, created_by)
      VALUES (${slug}, 'system:test') RETURNING id`.execute(trx);
    const pageId = rows[0]!.id;
    const rev = await sql<{
      id: string;
    }>`INSERT INTO page_revisions (page_id, number, title, audience, created_by)
      VALUES (${pageId}, 1, 'Raw page', ${JSON.stringify(audience)}::jsonb, 'system:test') RETURNING id`.execute(
      trx,
    );
    const revId = rev.rows[0]!.id;
    let position = 0;
    for (const b of blocks)
      await sql`INSERT INTO page_blocks (revision_id, position, type, data)
        VALUES (${revId}, ${++position}, ${b.type}, ${JSON.stringify(b.data)}::jsonb)`.execute(trx);
    await sql`UPDATE page_revisions SET frozen = true, content_hash = clubos_page_content_hash(id),
      published_at = now(), published_by = 'system:test' WHERE id = ${revId}`.execute(trx);
    await sql`UPDATE pages SET status = 'published', current_published_revision_id = ${revId}
      WHERE id = ${pageId}`.execute(trx);
    return pageId;
  });
}

forEachEngine("page audiences, decided on the server (R-1, R-2, R-4)", (engine) => {
  const t = suiteApp(engine);
  let viewers: Record<string, Client> = {};
  let committeeId = "";

  before(async () => {
    const sample = await sampleViewers(t.get().runtime, t.get().baseUrl);
    committeeId = sample.committeeId;
    viewers = Object.fromEntries(Object.entries(sample.viewers).map(([name, v]) => [name, v.client]));
  });

  /** Who each rule admits, among the viewers above. */
  const CASES: { name: string; rule: () => unknown; admits: string[] }[] = [
    {
      name: "public",
      rule: () => ({ type: "public" }),
      admits: ["anonymous", "member", "family", "gardener", "editor", "suspended"],
    },
    {
      // Signed in is not enough: a suspended member lacks the member rights, so "members" leaves them out.
      name: "members",
      rule: () => ({ type: "members" }),
      admits: ["member", "family", "gardener", "editor"],
    },
    {
      name: "active",
      rule: () => ({ type: "statuses", statuses: ["active"] }),
      admits: ["member", "family", "gardener", "editor"],
    },
    { name: "family", rule: () => ({ type: "tiers", tiers: ["family"] }), admits: ["family"] },
    { name: "garden", rule: () => ({ type: "committees", committees: [committeeId] }), admits: ["gardener"] },
    { name: "editors", rule: () => ({ type: "roles", roles: ["web_editor"] }), admits: ["editor"] },
    // Roles as identity counts them: a suspended member holds none, so "member" admits only active ones.
    {
      name: "role-holders",
      rule: () => ({ type: "roles", roles: ["member"] }),
      admits: ["member", "family", "gardener", "editor"],
    },
    {
      name: "anyof",
      rule: () => ({
        type: "any_of",
        rules: [
          { type: "tiers", tiers: ["family"] },
          { type: "committees", committees: [committeeId] },
        ],
      }),
      admits: ["family", "gardener"],
    },
  ];

  test("[G08] each rule shows its page, in full and in the navigation, to exactly the viewers it admits", async () => {
    const database = t.get().runtime.database;
    const made = [];
    for (const c of CASES) {
      const m = marker(c.name);
      const page = await makePage(database, {
        slug: uniqueSlug(c.name),
        title: `Title ${m}`,
        audience: c.rule(),
        blocks: [text(`Body ${m}`)],
        nav: 1,
      });
      made.push({ ...c, marker: m, slug: page.slug });
    }
    for (const [who, client] of Object.entries(viewers)) {
      const missing = await client.get(`/p/${uniqueSlug("no-such-page")}`);
      assert.equal(missing.status, 404);
      const home = await client.get("/");
      for (const c of made) {
        const res = await client.get(`/p/${c.slug}`);
        const allowed = c.admits.includes(who);
        assert.equal(res.status, allowed ? 200 : 404, `${who} on ${c.name}`);
        if (allowed) assert.ok(res.text.includes(`Body ${c.marker}`), `${who} sees ${c.name}`);
        else
          assert.equal(
            res.text,
            missing.text,
            `${who}: hidden ${c.name} answers byte for byte as a missing page`,
          );
        assert.equal(home.text.includes(`Title ${c.marker}`), allowed, `${who}: ${c.name} in the navigation`);
        assert.equal(home.text.includes(`/p/${c.slug}"`), allowed, `${who}: link to ${c.name}`);
      }
    }
  });

  test("an unknown or unreadable rule shows the page to nobody (R-1)", async () => {
    const database = t.get().runtime.database;
    for (const audience of [{ type: "alien" }, { type: "tiers", tiers: [] }, "public", null]) {
      const slug = uniqueSlug("raw");
      await publishRaw(database, slug, audience, [{ type: "text", data: { markdown: "secret raw" } }]);
      for (const [who, client] of Object.entries(viewers)) {
        const res = await client.get(`/p/${slug}`);
        assert.equal(res.status, 404, `${who} with ${JSON.stringify(audience)}`);
        assert.ok(!res.text.includes("secret raw"));
      }
    }
  });

  test("a hidden block leaves no trace: the page reads exactly as one made without it", async () => {
    const database = t.get().runtime.database;
    const hidden = marker("hidden");
    const withHidden = await makePage(database, {
      title: "Same title",
      blocks: [
        text("Shared text"),
        { type: "heading", data: { text: `Heading ${hidden}`, level: 2 }, audience: { type: "members" } },
        text(`Note ${hidden}`, { type: "tiers", tiers: ["family"] }),
        { type: "members_note", data: { markdown: `Members note ${hidden}` } },
      ],
    });
    const without = await makePage(database, { title: "Same title", blocks: [text("Shared text")] });
    const anonymous = viewers.anonymous!;
    const a = await anonymous.get(`/p/${withHidden.slug}`);
    const b = await anonymous.get(`/p/${without.slug}`);
    assert.equal(a.status, 200);
    assert.equal(a.text, b.text, "byte for byte the same as the page without the hidden blocks");
    const member = await viewers.member!.get(`/p/${withHidden.slug}`);
    assert.ok(member.text.includes(`Heading ${hidden}`) && member.text.includes(`Members note ${hidden}`));
    assert.ok(!member.text.includes(`Note ${hidden}`), "the family-tier block stays hidden from others");
    assert.ok((await viewers.family!.get(`/p/${withHidden.slug}`)).text.includes(`Note ${hidden}`));
  });

  test("[G08] only content everyone may see is cacheable by shared caches (R-6)", async () => {
    const database = t.get().runtime.database;
    const open = await makePage(database, { blocks: [text("open")] });
    const mixed = await makePage(database, { blocks: [text("open"), text("closed", { type: "members" })] });
    const closed = await makePage(database, { audience: { type: "members" }, blocks: [text("closed")] });
    const anonymous = viewers.anonymous!;
    const first = await anonymous.get(`/p/${open.slug}`);
    assert.equal(first.headers.get("cache-control"), "public, max-age=60");
    const etag = first.headers.get("etag");
    assert.match(etag ?? "", /^"[A-Za-z0-9_-]+"$/);
    assert.equal((await anonymous.get(`/p/${open.slug}`, { "if-none-match": etag! })).status, 304);
    const personal = [
      await anonymous.get(`/p/${mixed.slug}`),
      await viewers.member!.get(`/p/${open.slug}`),
      await viewers.member!.get(`/p/${closed.slug}`),
      await anonymous.get(`/p/${closed.slug}`),
    ];
    for (const res of personal) {
      assert.equal(res.headers.get("cache-control"), "private, no-store");
      assert.equal(res.headers.get("etag"), null);
    }
  });

  test("a page whose blocks cannot be rendered answers 404 like a missing page, never 500 or half a page", async () => {
    const database = t.get().runtime.database;
    const anonymous = viewers.anonymous!;
    const missing = await anonymous.get(`/p/${uniqueSlug("no-such-page")}`);
    for (const bad of [
      { type: "image", data: { src: "/x.png" } },
      { type: "heading", data: { text: "", level: 9 } },
      { type: "text", data: "not an object" },
    ]) {
      const slug = uniqueSlug("broken");
      await publishRaw(database, slug, { type: "public" }, [
        { type: "text", data: { markdown: "first half" } },
        bad,
      ]);
      const res = await anonymous.get(`/p/${slug}`);
      assert.equal(res.status, 404, JSON.stringify(bad));
      assert.equal(res.text, missing.text);
    }
  });

  test("news lists the posts the viewer may see, newest first", async () => {
    const database = t.get().runtime.database;
    const older = await makePage(database, { kind: "news", title: "Older news", summary: "old summary" });
    await sql`UPDATE pages SET published_on = '2020-01-01' WHERE id = ${older.id}`.execute(database.db);
    const secret = marker("secret-news");
    await makePage(database, { kind: "news", title: secret, audience: { type: "members" } });
    await makePage(database, { kind: "news", title: "Newer news" });
    const anon = await viewers.anonymous!.get("/news");
    assert.equal(anon.status, 200);
    assert.ok(anon.text.indexOf("Newer news") < anon.text.indexOf("Older news"));
    assert.ok(anon.text.includes("old summary"));
    assert.ok(!anon.text.includes(secret));
    assert.equal(anon.headers.get("cache-control"), "private, no-store", "the list differs by audience");
    assert.ok((await viewers.member!.get("/news")).text.includes(secret));
  });

  test("the signed-in members rule and members' notes need the member rights: not lapsed, expired or suspended, not an administrator whose membership lapsed; editors still preview", async () => {
    const { runtime, baseUrl } = t.get();
    const db = runtime.database.db;
    const secret = marker("members-only");
    const note = marker("members-note");
    const page = await makePage(runtime.database, {
      slug: uniqueSlug("rights"),
      audience: { type: "members" },
      blocks: [text(`Body ${secret}`)],
    });
    const open = await makePage(runtime.database, {
      slug: uniqueSlug("rights-open"),
      blocks: [text("Open to all"), { type: "members_note", data: { markdown: `Note ${note}` } }],
    });
    const signIn = async (roles: ("member" | "full_admin")[], status: string) => {
      const m = await createMember(runtime, roles, `Without rights (${status})`);
      await sql`UPDATE members SET status = ${status} WHERE id = ${m.memberId}`.execute(db);
      const client = new Client(baseUrl);
      assert.equal((await client.login(m.email, m.password)).status, 303);
      return client;
    };
    for (const [who, client] of [
      ["lapsed", await signIn(["member"], "lapsed")],
      ["expired", await signIn(["member"], "expired")],
      ["suspended", viewers.suspended!],
      ["lapsed administrator", await signIn(["member", "full_admin"], "lapsed")],
    ] as const) {
      const res = await client.get(`/p/${page.slug}`);
      const missing = await client.get(`/p/${uniqueSlug("no-such-page")}`);
      assert.equal(res.status, 404, `${who}: the members-only page is hidden`);
      assert.equal(res.text, missing.text, `${who}: exactly as a missing page`);
      const openRes = await client.get(`/p/${open.slug}`);
      assert.equal(openRes.status, 200);
      assert.ok(!openRes.text.includes(note), `${who}: the members' note is left out`);
    }
    const member = await viewers.member!.get(`/p/${page.slug}`);
    assert.ok(member.text.includes(secret), "an active member sees the page");
    assert.ok((await viewers.member!.get(`/p/${open.slug}`)).text.includes(note), "and the note");
    const preview = await viewers.editor!.get(`/preview/pages/${page.id}`);
    assert.equal(preview.status, 200, "an editor previews whatever the audience");
    assert.ok(preview.text.includes(secret));
  });
});
