import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import type { Database } from "../../src/core/db/connect.ts";
import {
  addBlock,
  publishPage,
  setAudience,
  startDraft,
  unpublishPage,
  updateBlock,
} from "../../src/domains/pages/pages.actions.ts";
import { HOME_SLUG } from "../../src/domains/pages/pages.routes.tsx";
import { PASSWORD_CHANGED } from "../../src/domains/pages/pages.views.tsx";
import { csrfTokenFor } from "../../src/http/guards.ts";
import { frontOf } from "../../src/http/routes.ts";
import { suiteApp, twoAppsOnOneDatabase } from "../helpers/app.ts";
import { forEachEngine, postgresOnly } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn } from "../helpers/identity.ts";
import { act, makePage, publisher, uniqueSlug, versionOf } from "../helpers/pages.ts";

/* The published-page render cache (page-render-cache.ts) never serves what the database no longer says:
 * every request reads the page's current revision and audience first, and decides the audience for its
 * own viewer before any cache is asked. Changes here are made through the actions on the database, as
 * another process would make them: the serving app's caches are not told. */

const text = (markdown: string) => ({ type: "text", data: { markdown } });

/** Adds a text block to the page's draft and publishes it: a new frozen revision. */
async function republishWith(database: Database, pageId: string, markdown: string) {
  const by = publisher();
  await act(database, by, startDraft, { pageId, version: await versionOf(database, pageId) });
  const { block } = await act(database, by, addBlock, {
    pageId,
    version: await versionOf(database, pageId),
    type: "text",
  });
  await act(database, by, updateBlock, {
    pageId,
    version: await versionOf(database, pageId),
    blockId: block.id,
    data: { markdown },
  });
  await act(database, by, publishPage, {
    pageId,
    version: await versionOf(database, pageId),
    timeZone: "Europe/London",
  });
}

/** Fetches a page twice (the second from the caches) and returns the second body. */
async function warm(client: Client, path: string): Promise<string> {
  assert.equal((await client.get(path)).status, 200);
  const res = await client.get(path);
  assert.equal(res.status, 200);
  return res.text;
}

forEachEngine("published pages served through the render cache", (engine) => {
  const t = suiteApp(engine);
  const database = () => t.get().runtime.database;

  test("a newly published revision is served on the next request", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const page = await makePage(database(), { blocks: [text("FIRSTREVISION")] });
    assert.match(await warm(anonymous, `/p/${page.slug}`), /FIRSTREVISION/);
    await republishWith(database(), page.id, "SECONDREVISION");
    const res = await anonymous.get(`/p/${page.slug}`);
    assert.equal(res.status, 200);
    assert.match(res.text, /SECONDREVISION/, "the new revision, not the cached one");
  });

  test("an unpublished page is 404 on the next request, as a page that never existed", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const page = await makePage(database(), { blocks: [text("TAKENDOWN")] });
    await warm(anonymous, `/p/${page.slug}`);
    await act(database(), publisher(), unpublishPage, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
    });
    const gone = await anonymous.get(`/p/${page.slug}`);
    const missing = await anonymous.get(`/p/${uniqueSlug("never")}`);
    assert.equal(gone.status, 404);
    assert.doesNotMatch(gone.text, /TAKENDOWN/);
    assert.equal(gone.text, missing.text);
    assert.equal(gone.headers.get("cache-control"), missing.headers.get("cache-control"));
  });

  test("a page whose audience changes from public to members is 404 to anonymous at once", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const { client: member } = await loggedIn(t);
    const page = await makePage(database(), { blocks: [text("NOWMEMBERSONLY")] });
    await warm(anonymous, `/p/${page.slug}`);
    const by = publisher();
    await act(database(), by, startDraft, { pageId: page.id, version: await versionOf(database(), page.id) });
    await act(database(), by, setAudience, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
      audience: { type: "members" },
    });
    await act(database(), by, publishPage, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
      timeZone: "Europe/London",
    });
    const res = await anonymous.get(`/p/${page.slug}`);
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /NOWMEMBERSONLY/);
    assert.match(await warm(member, `/p/${page.slug}`), /NOWMEMBERSONLY/);
  });

  test("a members-only page read by members is never served to anonymous visitors", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const { client: member } = await loggedIn(t);
    const page = await makePage(database(), { audience: { type: "members" }, blocks: [text("INNERCIRCLE")] });
    assert.match(await warm(member, `/p/${page.slug}`), /INNERCIRCLE/);
    const res = await anonymous.get(`/p/${page.slug}`);
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /INNERCIRCLE/);
    assert.equal(res.headers.get("cache-control"), "private, no-store");
  });

  test("cached content holds only the blocks each viewer's own decision admits", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const { client: member } = await loggedIn(t);
    const page = await makePage(database(), {
      blocks: [text("EVERYONESEES"), { type: "members_note", data: { markdown: "MEMBERSNOTE" } }],
    });
    // Member first, then anonymous, then member again: each from the caches after the first.
    assert.match(await warm(member, `/p/${page.slug}`), /MEMBERSNOTE/);
    const seen = await warm(anonymous, `/p/${page.slug}`);
    assert.match(seen, /EVERYONESEES/);
    assert.doesNotMatch(seen, /MEMBERSNOTE/);
    assert.match(await warm(member, `/p/${page.slug}`), /MEMBERSNOTE/);
    assert.equal((await anonymous.get(`/p/${page.slug}`)).headers.get("cache-control"), "private, no-store");
  });

  test("a kept public page is answered with the status, headers and bytes the full path gave", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const page = await makePage(database(), { blocks: [text("ANSWEREDALIKE")] });
    const path = `/p/${page.slug}`;
    // The first request renders and keeps the response; the next ones are answered from it.
    const [rendered, ...kept] = [
      await anonymous.get(path),
      await anonymous.get(path),
      await anonymous.get(path),
    ];
    const comparable = (headers: Headers) =>
      [...headers].filter(([name]) => name !== "date" && name !== "server-timing");
    assert.equal(rendered.status, 200);
    assert.match(rendered.text, /ANSWEREDALIKE/);
    assert.equal(rendered.headers.get("cache-control"), "public, max-age=60");
    for (const res of kept) {
      assert.equal(res.status, 200);
      assert.equal(res.text, rendered.text);
      assert.deepEqual(comparable(res.headers), comparable(rendered.headers));
    }
    const etag = rendered.headers.get("etag")!;
    const unchanged = await anonymous.get(path, { "if-none-match": etag });
    assert.equal(unchanged.status, 304);
    assert.equal(unchanged.headers.get("etag"), etag);
  });

  test("a kept public page is answered in front of the router, exactly as the router's path answers it", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const front = frontOf(t.get().app);
    const page = await makePage(database(), { blocks: [text("INFRONT")] });
    const path = `/p/${page.slug}`;
    // The same page by an encoded path: the front leaves it to the router, which decodes it.
    const routed = `/p/%${page.slug.charCodeAt(0).toString(16)}${page.slug.slice(1)}`;
    await warm(anonymous, path);
    const before = front.answered;
    const [fromFront, fromRouter] = [await anonymous.get(path), await anonymous.get(routed)];
    assert.equal(front.answered, before + 1, "only the plain path was answered in front");
    const comparable = (headers: Headers) =>
      [...headers].filter(([name]) => name !== "date" && name !== "server-timing");
    assert.equal(fromFront.status, 200);
    assert.equal(fromRouter.status, 200);
    assert.equal(fromFront.text, fromRouter.text);
    assert.deepEqual(comparable(fromFront.headers), comparable(fromRouter.headers));
    const etag = { "if-none-match": fromFront.headers.get("etag")! };
    const [sameFront, sameRouter] = [await anonymous.get(path, etag), await anonymous.get(routed, etag)];
    assert.equal(front.answered, before + 2);
    assert.equal(sameFront.status, 304);
    assert.equal(sameRouter.status, 304);
    assert.deepEqual(comparable(sameFront.headers), comparable(sameRouter.headers));
    // A session, a query string, another method: never in front.
    const { client: member } = await loggedIn(t);
    await member.get(path);
    await anonymous.get(`${path}?x=1`);
    await fetch(`${t.get().baseUrl}${path}`, { method: "HEAD" });
    assert.equal(front.answered, before + 2);
  });

  test("a kept public page is not the answer to a request with a session or a query string", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const { client: member } = await loggedIn(t);
    const page = await makePage(database(), { blocks: [text("PUBLICTEXT")] });
    const path = `/p/${page.slug}`;
    const kept = await warm(anonymous, path);
    // The member's own page: their session's form token in the layout, never the anonymous bytes.
    const mine = await member.get(path);
    assert.equal(mine.status, 200);
    assert.match(mine.text, /PUBLICTEXT/);
    assert.notEqual(mine.text, kept);
    assert.match(mine.text, /name="_csrf"/);
    assert.equal(mine.headers.get("cache-control"), "private, no-store");
    // A query string may change the answer: the home page after a password change carries a notice.
    await makePage(database(), { slug: HOME_SLUG, blocks: [text("HOMETEXT")] });
    const home = await warm(anonymous, "/");
    assert.match(home, /HOMETEXT/);
    assert.ok(!home.includes(PASSWORD_CHANGED));
    const noticed = await anonymous.get("/?changed=password");
    assert.equal(noticed.status, 200);
    assert.ok(noticed.text.includes(PASSWORD_CHANGED), "the notice, not the kept page without it");
  });

  test("a session's kept page goes to that session only, with its own form token", async () => {
    // One member signed in twice: the same viewer facts, two sessions with their own tokens.
    const { client: first, token: firstToken, member } = await loggedIn(t);
    const second = new Client(t.get().baseUrl);
    assert.equal((await second.login(member.email, member.password)).status, 303);
    const secondToken = second.cookie("clubos_session");
    const page = await makePage(database(), { audience: { type: "members" }, blocks: [text("OURSONLY")] });
    const path = `/p/${page.slug}`;
    const formToken = (html: string) => /name="_csrf" value="([^"]*)"/.exec(html)?.[1];
    assert.equal(formToken(await warm(first, path)), csrfTokenFor(firstToken!));
    assert.equal(formToken(await warm(second, path)), csrfTokenFor(secondToken!));
    assert.equal(formToken(await warm(first, path)), csrfTokenFor(firstToken!));
    assert.equal((await first.get(path)).headers.get("cache-control"), "private, no-store");
  });

  test("a member whose rights end is refused the page they were just given, on the next request", async () => {
    const { client: member, member: who } = await loggedIn(t);
    const page = await makePage(database(), { audience: { type: "members" }, blocks: [text("WHILEACTIVE")] });
    assert.match(await warm(member, `/p/${page.slug}`), /WHILEACTIVE/);
    await sql`UPDATE members SET status = 'suspended' WHERE id = ${who.memberId}`.execute(database().db);
    const res = await member.get(`/p/${page.slug}`);
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /WHILEACTIVE/);
  });

  test("the navigation follows a page joining it on the next request", async () => {
    const anonymous = new Client(t.get().baseUrl);
    const shown = await makePage(database(), { blocks: [text("SHOWN")] });
    await warm(anonymous, `/p/${shown.slug}`);
    const joined = await makePage(database(), { title: `Joined ${uniqueSlug()}`, nav: 5 });
    const res = await anonymous.get(`/p/${shown.slug}`);
    assert.ok(res.text.includes(`href="/p/${joined.slug}"`), "the new navigation entry is there");
    await act(database(), publisher(), unpublishPage, {
      pageId: joined.id,
      version: await versionOf(database(), joined.id),
    });
    const after = await anonymous.get(`/p/${shown.slug}`);
    assert.ok(!after.text.includes(`href="/p/${joined.slug}"`), "an unpublished page leaves it at once");
  });
});

postgresOnly("two app instances on one database", () => {
  const apps = twoAppsOnOneDatabase();

  test("a publish or unpublish in one instance is seen by the other on its next request", async () => {
    const page = await makePage(apps.a().runtime.database, { blocks: [text("INSTANCEONE")] });
    const visitor = new Client(apps.b().baseUrl);
    assert.match(await warm(visitor, `/p/${page.slug}`), /INSTANCEONE/);
    await republishWith(apps.a().runtime.database, page.id, "INSTANCETWO");
    assert.match((await visitor.get(`/p/${page.slug}`)).text, /INSTANCETWO/);
    await act(apps.a().runtime.database, publisher(), unpublishPage, {
      pageId: page.id,
      version: await versionOf(apps.a().runtime.database, page.id),
    });
    assert.equal((await visitor.get(`/p/${page.slug}`)).status, 404);
  });
});
