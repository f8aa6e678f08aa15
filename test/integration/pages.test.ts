import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runChecks } from "../../src/core/invariants.ts";
import { pagesInvariantChecks } from "../../src/domains/pages/pages.invariants.ts";
import { routeTable } from "../../src/http/routes.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn } from "../helpers/identity.ts";
import { makePage, uniqueSlug } from "../helpers/pages.ts";

const ADMIN = "/admin/pages";

forEachEngine("editing and publishing pages", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database.db;
  const version = async (pageId: string) =>
    (await db().selectFrom("pages").select("version").where("id", "=", pageId).executeTakeFirstOrThrow())
      .version;
  const post = (client: Client, path: string, form: Record<string, string>) =>
    client.postForm(path, form, ADMIN);
  const blockIds = async (pageId: string) =>
    (
      await db()
        .selectFrom("page_blocks as b")
        .innerJoin("page_revisions as r", "r.id", "b.revision_id")
        .select(["b.id", "b.type"])
        .where("r.page_id", "=", pageId)
        .where("r.frozen", "=", false)
        .orderBy("b.position")
        .execute()
    ).map((b) => b.id);

  async function createVia(client: Client, title: string, kind = "page") {
    const slug = uniqueSlug("edited");
    const res = await post(client, ADMIN, { slug, title, kind });
    assert.equal(res.status, 303, res.text);
    const id = /\/admin\/pages\/([0-9a-f-]{36})/.exec(res.headers.get("location") ?? "")![1]!;
    return { id, slug };
  }

  test("[G05] a publisher writes, publishes, changes through a new draft, compares and rolls back", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const anonymous = new Client(t.get().baseUrl);
    const { id, slug } = await createVia(client, "Club history");
    assert.equal((await anonymous.get(`/p/${slug}`)).status, 404, "a draft is not on the site");
    for (const type of ["heading", "text", "call_to_action", "members_note", "event_list"])
      assert.equal(
        (await post(client, `${ADMIN}/${id}/blocks`, { version: String(await version(id)), type })).status,
        303,
      );
    const [heading, textBlock, cta] = await blockIds(id);
    const save = async (blockId: string, form: Record<string, string>) =>
      post(client, `${ADMIN}/${id}/blocks/${blockId}`, { version: String(await version(id)), ...form });
    assert.equal(
      (await save(heading!, { type: "heading", text: "Founded in 1921", level: "2" })).status,
      303,
    );
    assert.equal(
      (await save(textBlock!, { type: "text", markdown: "First *version* <script>x</script>" })).status,
      303,
    );
    const badLink = await save(cta!, { type: "call_to_action", label: "Go", href: "javascript:alert(1)" });
    assert.equal(badLink.status, 422);
    assert.match(badLink.text, /link must start/);
    assert.equal(
      (await save(cta!, { type: "call_to_action", label: "Join us", href: "/login" })).status,
      303,
    );
    // Move the text block above the heading, then back.
    const move = async (blockId: string, direction: string) =>
      post(client, `${ADMIN}/${id}/blocks/${blockId}/move`, {
        version: String(await version(id)),
        direction,
      });
    assert.equal((await move(textBlock!, "up")).status, 303);
    assert.deepEqual((await blockIds(id)).slice(0, 2), [textBlock, heading]);
    assert.equal((await move(textBlock!, "down")).status, 303);
    const [, , , note] = await blockIds(id);
    assert.equal(
      (await post(client, `${ADMIN}/${id}/blocks/${note!}/remove`, { version: String(await version(id)) }))
        .status,
      303,
    );
    assert.equal((await blockIds(id)).length, 4);
    assert.equal(
      (await post(client, `${ADMIN}/${id}/publish`, { version: String(await version(id)) })).status,
      303,
    );
    const first = await anonymous.get(`/p/${slug}`);
    assert.equal(first.status, 200);
    assert.match(first.text, /<h2>Founded in 1921<\/h2>/);
    assert.match(
      first.text,
      /First <em>version<\/em> &lt;script&gt;x&lt;\/script&gt;/,
      "raw HTML is escaped",
    );
    assert.match(first.text, /<a href="\/login">Join us<\/a>/);

    // A change goes through a new draft; the site keeps the published revision until it is published.
    assert.equal(
      (await post(client, `${ADMIN}/${id}/start-draft`, { version: String(await version(id)) })).status,
      303,
    );
    const draftText = (await blockIds(id))[1]!;
    assert.notEqual(draftText, textBlock, "the draft has blocks of its own");
    await save(draftText, { type: "text", markdown: "Second version" });
    await post(client, `${ADMIN}/${id}/draft`, {
      version: String(await version(id)),
      title: "Our history",
      summary: "",
    });
    assert.match((await anonymous.get(`/p/${slug}`)).text, /First <em>version/);
    await post(client, `${ADMIN}/${id}/publish`, { version: String(await version(id)) });
    assert.match((await anonymous.get(`/p/${slug}`)).text, /Second version/);

    const editor = await client.get(`${ADMIN}/${id}`);
    assert.match(editor.text, /Changes in revision 2/);
    const diff = await client.get(`${ADMIN}/${id}/diff?from=1&to=2`);
    assert.equal(diff.status, 200);
    assert.match(diff.text, /<del>- Title: Club history\n<\/del>/);
    assert.match(diff.text, /<ins>\+ Title: Our history\n<\/ins>/);
    assert.match(diff.text, /<ins>\+ {3}markdown: Second version\n<\/ins>/);

    assert.equal(
      (await post(client, `${ADMIN}/${id}/rollback`, { version: String(await version(id)), revision: "1" }))
        .status,
      303,
    );
    assert.match((await anonymous.get(`/p/${slug}`)).text, /First <em>version/);
    const revisions = await db()
      .selectFrom("page_revisions")
      .select(["number", "frozen", "based_on_revision_id"])
      .where("page_id", "=", id)
      .orderBy("number")
      .execute();
    assert.deepEqual(
      revisions.map((r) => [r.number, r.frozen]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
      "the roll-back is a new revision; the others are kept as they were",
    );
    const history = await client.get(`${ADMIN}/${id}`);
    assert.match(history.text, /3: Club history \(from revision 1\) · on the site now/);
    assert.match(history.text, /Test Member/, "history names who made and published each revision");
    const actions = await db()
      .selectFrom("audit_log")
      .select("action")
      .where("subject_id", "=", id)
      .orderBy("seq")
      .execute();
    assert.ok(actions.some((a) => a.action === "page.rolled_back"));
    assert.ok((await runChecks(t.get().runtime.database, "operator:test", pagesInvariantChecks)).ok);

    // Unpublish and archive take it off the site.
    await post(client, `${ADMIN}/${id}/unpublish`, { version: String(await version(id)) });
    assert.equal((await anonymous.get(`/p/${slug}`)).status, 404);
    await post(client, `${ADMIN}/${id}/archive`, { version: String(await version(id)) });
    const archived = await post(client, `${ADMIN}/${id}/start-draft`, { version: String(await version(id)) });
    assert.equal(archived.status, 409);
    assert.match(archived.text, /archived/);
  });

  test("two editors on one draft: the second save is refused with what changed (W-4)", async () => {
    const a = await loggedIn(t, ["member", "web_editor"]);
    const b = await loggedIn(t, ["member", "web_editor"]);
    const { id } = await createVia(a.client, "Shared draft");
    const read = String(await version(id));
    assert.equal(
      (await post(a.client, `${ADMIN}/${id}/draft`, { version: read, title: "A's title", summary: "" }))
        .status,
      303,
    );
    const stale = await post(b.client, `${ADMIN}/${id}/draft`, {
      version: read,
      title: "Shared draft",
      summary: "B's",
    });
    assert.equal(stale.status, 409);
    assert.match(stale.text, /Someone changed this page after you opened it \(title\)/);
  });

  test("[G05] an editor without pages:publish cannot make anything visible", async () => {
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    const anonymous = new Client(t.get().baseUrl);
    const { id, slug } = await createVia(client, "Editor's page");
    await post(client, `${ADMIN}/${id}/blocks`, { version: String(await version(id)), type: "text" });
    const [blockId] = await blockIds(id);
    const editor = await client.get(`${ADMIN}/${id}`);
    assert.doesNotMatch(editor.text, /Publish draft|Who may see this page|Publish revision/);
    const published = await makePage(t.get().runtime.database, { audience: { type: "members" } });
    for (const [path, form] of [
      [`${ADMIN}/${id}/publish`, {}],
      [`${ADMIN}/${id}/audience`, { who: "public" }],
      [`${ADMIN}/${id}/blocks/${blockId}/audience`, { who: "public" }],
      [`${ADMIN}/${published.id}/rollback`, { revision: "1" }],
      [`${ADMIN}/${published.id}/unpublish`, {}],
      [`${ADMIN}/${published.id}/archive`, {}],
    ] as const) {
      const pageId = path.split("/")[3]!;
      const res = await post(client, path, { version: String(await version(pageId)), ...form });
      assert.equal(res.status, 403, path);
    }
    assert.equal((await anonymous.get(`/p/${slug}`)).status, 404);
    assert.equal((await anonymous.get(`/p/${published.slug}`)).status, 404, "still members only");
    // Every route that can change what the site shows needs pages:publish.
    const visible = ["publishPage", "unpublishPage", "archivePage", "rollbackPage", "setAudience"];
    const routes = routeTable(t.get().app).filter((r) => r.action && visible.includes(r.action));
    assert.ok(routes.length >= 6);
    for (const r of routes) assert.equal(r.capability, "pages:publish", `${r.method} ${r.url}`);
  });

  test("[G05] the publish freeze refuses publishing, unpublishing, roll-back and audience changes; reading and drafts go on", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const anonymous = new Client(t.get().baseUrl);
    const live = await makePage(t.get().runtime.database, {
      blocks: [{ type: "text", data: { markdown: "live" } }],
    });
    await post(client, `${ADMIN}/${live.id}/start-draft`, { version: String(await version(live.id)) });
    await sql`UPDATE system_state SET publish_freeze = true, reason = 'checking a leak'`.execute(db());
    await t.get().runtime.modes.refresh();
    try {
      for (const [path, form] of [
        [`${ADMIN}/${live.id}/publish`, {}],
        [`${ADMIN}/${live.id}/unpublish`, {}],
        [`${ADMIN}/${live.id}/rollback`, { revision: "1" }],
        [`${ADMIN}/${live.id}/audience`, { who: "members" }],
        [`${ADMIN}/${live.id}/archive`, {}],
      ] as const) {
        const res = await post(client, path, { version: String(await version(live.id)), ...form });
        assert.equal(res.status, 503, path);
        assert.match(res.text, /Publishing changes are frozen by an operator: checking a leak/);
      }
      const saved = await post(client, `${ADMIN}/${live.id}/draft`, {
        version: String(await version(live.id)),
        title: "Still editable",
        summary: "",
      });
      assert.equal(saved.status, 303, "drafts are not publishing");
      const read = await anonymous.get(`/p/${live.slug}`);
      assert.equal(read.status, 200);
      assert.match(read.text, /live/);
      const row = await db()
        .selectFrom("pages")
        .selectAll()
        .where("id", "=", live.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, "published");
      assert.equal(row.current_published_revision_id, live.current_published_revision_id);
    } finally {
      await sql`UPDATE system_state SET publish_freeze = false, reason = NULL`.execute(db());
      await t.get().runtime.modes.refresh();
    }
  });
});

forEachEngine("the demo club's pages", (engine) => {
  const t = suiteApp(engine);

  test("the demo club has a public home page, a news post and a members-only page", async () => {
    const { seedDemoClub } = await import("../../src/app/demo.ts");
    assert.ok(await seedDemoClub(t.get().runtime));
    const anonymous = new Client(t.get().baseUrl);
    const home = await anonymous.get("/");
    assert.equal(home.status, 200);
    assert.match(home.text, /<h1>Welcome to the club<\/h1>/);
    assert.match(home.text, /Open evening/, "the event list block shows the public event");
    assert.doesNotMatch(home.text, /annual dinner/, "neither the members' note nor the members' event");
    assert.equal(home.headers.get("cache-control"), "private, no-store", "it holds a members-only block");
    assert.match((await anonymous.get("/news")).text, /Spring open evening announced/);
    assert.equal((await anonymous.get("/p/members-handbook")).status, 404);
    assert.doesNotMatch(home.text, /handbook/);
    const member = await loggedIn(t, ["member"]);
    const seen = await member.client.get("/");
    assert.match(seen.text, /annual dinner list is open/);
    assert.match(seen.text, /href="\/p\/members-handbook"/, "members see the handbook in the menu");
    assert.match((await member.client.get("/p/members-handbook")).text, /Club house keys/);
    assert.ok((await runChecks(t.get().runtime.database, "operator:test", pagesInvariantChecks)).ok);
  });
});
