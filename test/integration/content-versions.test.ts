import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { readContentVersions } from "../../src/core/db/content-versions.ts";
import { MEMBERS_RULE } from "../../src/domains/pages/audience.ts";
import { saveDraft, startDraft } from "../../src/domains/pages/pages.actions.ts";
import { suiteApp, twoAppsOnOneDatabase } from "../helpers/app.ts";
import { forEachEngine, postgresOnly } from "../helpers/engines.ts";
import { loggedIn, meWith, sessionCookie } from "../helpers/identity.ts";
import { act, editor, makePage, versionOf } from "../helpers/pages.ts";

/* What a server keeps under the content versions (migration 0033, src/core/db/content-versions.ts) never
 * outlives what the database says: a session ended, a role or status changed, by another process (here:
 * statements on the database the serving app is not told of), is seen by the very next request; a term
 * that ends by the clock alone needs no write at all; and the bookkeeping a page view itself writes (the
 * session's last_seen_at) changes no version, so viewing pages never invalidates anything. */

const text = (markdown: string) => ({ type: "text", data: { markdown } });

/** Fetches twice, so that the second answer comes from what the app keeps. */
async function warm(url: string, headers: Record<string, string>) {
  await fetch(url, { headers });
  return fetch(url, { headers });
}

const capabilities = async (baseUrl: string, token: string) =>
  (await meWith(baseUrl, sessionCookie(token))).body.capabilities ?? [];

forEachEngine("what a server keeps under the content versions", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database.db;

  test("a session ended elsewhere is signed out on the next request, page and API alike", async () => {
    const { token } = await loggedIn(t);
    const page = await makePage(t.get().runtime.database, {
      audience: MEMBERS_RULE,
      blocks: [text("SIGNEDIN")],
    });
    const url = `${t.get().baseUrl}/p/${page.slug}`;
    assert.match(await (await warm(url, sessionCookie(token))).text(), /SIGNEDIN/);
    assert.equal((await meWith(t.get().baseUrl, sessionCookie(token))).status, 200);
    await sql`UPDATE sessions SET ended_at = now(), ended_reason = 'logout' WHERE ended_at IS NULL`.execute(
      db(),
    );
    assert.equal((await fetch(url, { headers: sessionCookie(token) })).status, 404);
    assert.equal((await meWith(t.get().baseUrl, sessionCookie(token))).status, 401);
  });

  test("a role revoked or a status changed elsewhere is seen on the next request", async () => {
    const { token, member } = await loggedIn(t, ["member", "web_editor"]);
    const page = await makePage(t.get().runtime.database, {
      audience: MEMBERS_RULE,
      blocks: [text("MEMBERSONLY")],
    });
    const url = `${t.get().baseUrl}/p/${page.slug}`;
    const granted = await capabilities(t.get().baseUrl, token);
    assert.ok(granted.length > 0);
    assert.deepEqual(await capabilities(t.get().baseUrl, token), granted);
    await sql`UPDATE role_assignments SET ends_at = now() WHERE member_id = ${member.memberId}
      AND role_key = 'web_editor'`.execute(db());
    const after = await capabilities(t.get().baseUrl, token);
    assert.ok(after.length < granted.length, "the revoked role's capabilities are gone at once");
    assert.equal((await warm(url, sessionCookie(token))).status, 200);
    await sql`UPDATE members SET status = 'suspended' WHERE id = ${member.memberId}`.execute(db());
    assert.equal((await fetch(url, { headers: sessionCookie(token) })).status, 404, "no member rights now");
  });

  test("a role term or a session that ends by the clock alone ends on time, with no write", async () => {
    const { token, member } = await loggedIn(t, ["member", "web_editor"]);
    const granted = await capabilities(t.get().baseUrl, token);
    await sql`UPDATE role_assignments SET ends_at = now() + interval '1.5 seconds'
      WHERE member_id = ${member.memberId} AND role_key = 'web_editor'`.execute(db());
    await sql`UPDATE sessions SET expires_at = now() + interval '3 seconds'
      WHERE token_hash IS NOT NULL AND ended_at IS NULL AND account_id =
        (SELECT id FROM accounts WHERE member_id = ${member.memberId})`.execute(db());
    assert.deepEqual(await capabilities(t.get().baseUrl, token), granted);
    assert.deepEqual(await capabilities(t.get().baseUrl, token), granted, "kept, and still the same");
    const before = await readContentVersions(db());
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const after = await capabilities(t.get().baseUrl, token);
    assert.ok(after.length < granted.length, "the term is over: its capabilities are gone");
    assert.equal((await readContentVersions(db())).access, before.access, "without any write");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await meWith(t.get().baseUrl, sessionCookie(token))).status, 401, "the session expired");
  });

  test("a page view's session touch and a draft edit change no version; an unpublish does", async () => {
    const page = await makePage(t.get().runtime.database, { blocks: [text("VERSIONED")] });
    const before = await readContentVersions(db());
    await sql`UPDATE sessions SET last_seen_at = now()`.execute(db());
    await act(t.get().runtime.database, editor(), startDraft, {
      pageId: page.id,
      version: await versionOf(t.get().runtime.database, page.id),
    });
    await act(t.get().runtime.database, editor(), saveDraft, {
      pageId: page.id,
      version: await versionOf(t.get().runtime.database, page.id),
      title: "A new title in the draft",
      summary: "",
    });
    const unchanged = await readContentVersions(db());
    assert.equal(unchanged.access, before.access, "last_seen_at alone is not an access change");
    assert.equal(unchanged.site, before.site, "a draft is not what the site serves");
    await sql`UPDATE pages SET status = 'unpublished', current_published_revision_id = NULL
      WHERE id = ${page.id}`.execute(db());
    await sql`UPDATE sessions SET ended_at = now() WHERE false`.execute(db());
    const changed = await readContentVersions(db());
    assert.notEqual(changed.site, before.site);
    assert.notEqual(changed.access, before.access, "a statement that may end sessions changes it");
  });
});

postgresOnly("two app instances on one database: access", () => {
  const apps = twoAppsOnOneDatabase();

  test("a logout through one instance signs the session out on the other's next request", async () => {
    const suite = { get: () => apps.a() };
    const { client, token } = await loggedIn(suite);
    const page = await makePage(apps.a().runtime.database, {
      audience: MEMBERS_RULE,
      blocks: [text("BOTHAPPS")],
    });
    const url = `${apps.b().baseUrl}/p/${page.slug}`;
    assert.match(await (await warm(url, sessionCookie(token))).text(), /BOTHAPPS/);
    assert.equal((await meWith(apps.b().baseUrl, sessionCookie(token))).status, 200);
    assert.equal((await client.postForm("/logout", {})).status, 303);
    assert.equal((await fetch(url, { headers: sessionCookie(token) })).status, 404);
    assert.equal((await meWith(apps.b().baseUrl, sessionCookie(token))).status, 401);
  });
});
