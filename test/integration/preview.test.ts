import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { afterEach, test } from "node:test";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { setSwitch } from "../../src/domains/ops/mode.actions.ts";
import {
  publishPage,
  startDraft,
  updateBlock,
  uploadPageFile,
} from "../../src/domains/pages/pages.actions.ts";
import { blocksOfRevision, draftOf } from "../../src/domains/pages/pages.repository.ts";
import {
  createPreviewLink,
  PREVIEW_LINK_ACTOR,
  revokePreviewLinkAction,
  viewPreviewThroughLink,
} from "../../src/domains/pages/preview.actions.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { loggedIn } from "../helpers/identity.ts";
import { act, editor, makePage, publisher, uniqueSlug, versionOf } from "../helpers/pages.ts";

const TEXT = (markdown: string) => ({ type: "text", data: { markdown } });
/** A 1x1 PNG made unique by bytes after its end (its hash differs, a viewer ignores them). */
const png = () =>
  Buffer.concat([
    Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
      "base64",
    ),
    randomBytes(16),
  ]);
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
type Res = { status: number; headers: Headers; text: string };

/** Every preview response, errors included, carries these. */
function assertPreviewHeaders(res: Res, where: string) {
  assert.equal(res.headers.get("x-robots-tag"), "noindex, nofollow", `${where}: X-Robots-Tag`);
  assert.equal(res.headers.get("cache-control"), "private, no-store", `${where}: Cache-Control`);
  assert.equal(res.headers.get("referrer-policy"), "no-referrer", `${where}: Referrer-Policy`);
}

forEachEngine("previews", (engine) => {
  const t = suiteApp(engine);
  const database = () => t.get().runtime.database;
  const anonymous = () => new Client(t.get().baseUrl);
  const switchPreviews = async (on: boolean) => {
    await runAction(t.get().runtime.actionEnv(operatorActor("test")), setSwitch, {
      name: "preview_off",
      on,
      reason: "test",
    });
    await t.get().runtime.modes.refresh();
  };
  afterEach(() => switchPreviews(false));

  /** A published page (revision 1, marker pub) with a draft (revision 2, marker draft). */
  async function pageWithDraft() {
    const pub = `PUBLISHED${uniqueSlug("m").replace(/-/g, "")}`;
    const draft = `DRAFTMARK${uniqueSlug("m").replace(/-/g, "")}`;
    const page = await makePage(database(), { blocks: [TEXT(pub)] });
    await act(database(), publisher(), startDraft, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
    });
    const d = (await draftOf(database().db, page.id))!;
    const [block] = await blocksOfRevision(database().db, d.id);
    await act(database(), publisher(), updateBlock, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
      blockId: block!.id,
      data: { markdown: draft },
    });
    return { page, pub, draft, draftNumber: d.number };
  }
  const linkTo = (pageId: string, revision: number, hours?: number) =>
    act(database(), editor(), createPreviewLink, { pageId, revision, hours });
  const uses = async (linkId: string) =>
    Number(
      (
        await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log
          WHERE action = 'page.previewed' AND after->>'link' = ${linkId}`.execute(database().db)
      ).rows[0]!.n,
    );

  test("[G09] an editor with pages:preview sees the draft under /preview/, with the banner and headers; others do not", async () => {
    const { page, pub, draft } = await pageWithDraft();
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    const res = await client.get(`/preview/pages/${page.id}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.text.includes(draft), "the draft is shown");
    assert.ok(!res.text.includes(pub), "not the published content");
    assert.match(res.text, /<strong>Preview<\/strong>/);
    assertPreviewHeaders(res, "editor preview");
    const r1 = await client.get(`/preview/pages/${page.id}/revisions/1`);
    assert.equal(r1.status, 200);
    assert.ok(r1.text.includes(pub) && !r1.text.includes(draft), "any revision by number");
    assertPreviewHeaders(r1, "revision preview");
    const missing = await client.get(`/preview/pages/${page.id}/revisions/99`);
    assert.equal(missing.status, 404);
    assert.ok(!missing.text.includes(pub), "an unknown revision is an error, not the published page");
    assertPreviewHeaders(missing, "missing revision");
    const nobody = await anonymous().get(`/preview/pages/${page.id}`);
    assert.equal(nobody.status, 401);
    assert.ok(!nobody.text.includes(draft));
    assertPreviewHeaders(nobody, "anonymous editor preview");
    const { client: member } = await loggedIn(t, ["member"]);
    const plain = await member.get(`/preview/pages/${page.id}`);
    assert.equal(plain.status, 403);
    assert.ok(!plain.text.includes(draft));
  });

  test("[G09] published routes never render draft content: /p/:slug, / and /news", async () => {
    const { page, pub, draft } = await pageWithDraft();
    const onPage = await anonymous().get(`/p/${page.slug}`);
    assert.equal(onPage.status, 200);
    assert.ok(onPage.text.includes(pub) && !onPage.text.includes(draft));
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    for (const path of [`/p/${page.slug}`, "/", "/news", `/p/${page.slug}?preview=1`])
      for (const c of [anonymous(), client])
        assert.ok(!(await c.get(path)).text.includes(draft), `${path} shows no draft`);
    // A news post with only a draft, and a draft of the home page when the club has none published.
    const news = await makePage(database(), { kind: "news", blocks: [TEXT(draft)], publish: false });
    assert.ok(!(await client.get("/news")).text.includes(news.slug));
    const home = await database()
      .db.selectFrom("pages")
      .select("id")
      .where("slug", "=", "home")
      .executeTakeFirst();
    if (!home) {
      await makePage(database(), { slug: "home", blocks: [TEXT(draft)], publish: false });
      assert.ok(!(await anonymous().get("/")).text.includes(draft), "a draft home page is not /");
    }
  });

  test("[G09] a share link shows its one revision to a reviewer without an account, each use audited", async () => {
    const { page, pub, draft, draftNumber } = await pageWithDraft();
    const toDraft = await linkTo(page.id, draftNumber);
    const toPublished = await linkTo(page.id, 1);
    const stored = await database()
      .db.selectFrom("page_preview_links")
      .select(["token_hash", "expires_at", "created_at"])
      .where("id", "=", toDraft.linkId)
      .executeTakeFirstOrThrow();
    assert.notEqual(stored.token_hash, toDraft.token, "only the hash is kept");
    assert.match(stored.token_hash, /^[0-9a-f]{64}$/);
    const hours = (new Date(stored.expires_at).getTime() - new Date(stored.created_at).getTime()) / 3_600_000;
    assert.ok(Math.abs(hours - 24) < 0.01, "24 hours by default");

    const reviewer = anonymous();
    const a = await reviewer.get(`/preview/link/${toDraft.token}`);
    assert.equal(a.status, 200, a.text);
    assert.ok(a.text.includes(draft) && !a.text.includes(pub));
    assert.match(a.text, /<strong>Preview<\/strong>/);
    assertPreviewHeaders(a, "share link");
    const b = await reviewer.get(`/preview/link/${toPublished.token}`);
    assert.ok(b.text.includes(pub) && !b.text.includes(draft), "a link to revision 1 never shows revision 2");
    assert.equal(await uses(toDraft.linkId), 1);
    await reviewer.get(`/preview/link/${toDraft.token}`);
    assert.equal(await uses(toDraft.linkId), 2, "every use writes its audit entry");
    assert.equal(await uses(toPublished.linkId), 1);
  });

  test("[G09] an expired, revoked or unknown link is an error page, never the published page", async () => {
    const { page, pub, draft, draftNumber } = await pageWithDraft();
    const expired = await linkTo(page.id, draftNumber);
    await sql`UPDATE page_preview_links SET created_at = now() - interval '2 days',
      expires_at = now() - interval '1 day' WHERE id = ${expired.linkId}`.execute(database().db);
    const revoked = await linkTo(page.id, draftNumber);
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    const csrfFrom = `/admin/pages/${page.id}`;
    const editorPage = await client.get(csrfFrom);
    assert.match(
      editorPage.text,
      new RegExp(`preview-links/${revoked.linkId}/revoke`),
      "the editor lists it",
    );
    const r = await client.postForm(
      `/admin/pages/${page.id}/preview-links/${revoked.linkId}/revoke`,
      { version: "1" },
      csrfFrom,
    );
    assert.equal(r.status, 303, r.text);
    const unknown = `pv_${"A".repeat(43)}`;
    for (const [what, token] of [
      ["expired", expired.token],
      ["revoked", revoked.token],
      ["unknown", unknown],
      ["malformed", "not-a-token"],
    ] as const) {
      const res = await anonymous().get(`/preview/link/${token}`);
      assert.equal(res.status, 404, `${what}: ${res.status}`);
      assert.ok(!res.text.includes(draft) && !res.text.includes(pub), `${what} shows no content`);
      assertPreviewHeaders(res, what);
    }
    assert.equal(await uses(expired.linkId), 0);
    assert.equal(await uses(revoked.linkId), 0);
    await assert.rejects(linkTo(page.id, draftNumber, 7 * 24 + 1), { code: "invalid_input" });
    await linkTo(page.id, draftNumber, 7 * 24);
  });

  test("[G09] the kill switch stops both ways in, and the action refuses even if a route forgot it", async () => {
    const { page, pub, draft, draftNumber } = await pageWithDraft();
    const link = await linkTo(page.id, draftNumber);
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    await switchPreviews(true);
    for (const [who, c, path] of [
      ["editor", client, `/preview/pages/${page.id}`],
      ["reviewer", anonymous(), `/preview/link/${link.token}`],
    ] as const) {
      const res = await c.get(path);
      assert.equal(res.status, 404, `${who}: ${res.status}`);
      assert.ok(!res.text.includes(draft) && !res.text.includes(pub), `${who} sees no content`);
      assertPreviewHeaders(res, `${who} with previews off`);
    }
    // The route's guard bypassed: the action reads the switch in its own transaction.
    await assert.rejects(
      runAction(t.get().runtime.actionEnv(PREVIEW_LINK_ACTOR), viewPreviewThroughLink, { token: link.token }),
      { code: "preview_unavailable" },
    );
    await assert.rejects(linkTo(page.id, draftNumber), { code: "preview_unavailable" });
    assert.equal(await uses(link.linkId), 0);
    await switchPreviews(false);
    assert.equal((await anonymous().get(`/preview/link/${link.token}`)).status, 200);
  });

  test("[G09] editors make a link from the editor page; `clubos preview revoke-all` withdraws every link, audited", async () => {
    const { page, draft, draftNumber } = await pageWithDraft();
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    const csrfFrom = `/admin/pages/${page.id}`;
    const made = await client.postForm(
      `/admin/pages/${page.id}/preview-links`,
      { version: "1", revision: String(draftNumber), hours: "48" },
      csrfFrom,
    );
    assert.equal(made.status, 200, made.text);
    const path = /\/preview\/link\/(pv_[A-Za-z0-9_-]{43})/.exec(made.text)?.[0];
    assert.ok(path, "the new link is shown once");
    assert.ok((await anonymous().get(path)).text.includes(draft));
    const other = await linkTo(page.id, 1);
    const lines: string[] = [];
    const env: CliEnv = {
      io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: () => {} },
      config: t.get().config,
      withRuntime: (fn) => fn(t.get().runtime),
    };
    assert.notEqual(await runCli(["preview", "revoke-all"], env), 0, "--actor is required");
    assert.equal(
      await runCli(["preview", "revoke-all", "--actor", "alice", "--reason", "leak drill"], env),
      0,
    );
    const count = Number(/Revoked (\d+) preview link/.exec(lines.join("\n"))?.[1]);
    assert.ok(count >= 2, lines.join("\n"));
    assert.equal((await anonymous().get(path)).status, 404);
    assert.equal((await anonymous().get(`/preview/link/${other.token}`)).status, 404);
    const entry = await database()
      .db.selectFrom("audit_log")
      .select(["actor_type", "actor_id"])
      .where("action", "=", "page.preview_links_revoked_all")
      .orderBy("occurred_at", "desc")
      .executeTakeFirst();
    assert.deepEqual([entry?.actor_type, entry?.actor_id], ["operator", "operator:alice"]);
  });

  test("[G09] a block that cannot render: editors see why in preview, the public page stays 404, a reviewer gets an error", async () => {
    const slug = uniqueSlug("broken");
    const page = await makePage(database(), {
      slug,
      publish: false,
      blocks: [TEXT("BROKENNEIGHBOUR"), { type: "heading", data: { text: "ok", level: 2 } }],
    });
    const d = (await draftOf(database().db, page.id))!;
    await sql`UPDATE page_blocks SET data = '{"text": 42}'::jsonb WHERE revision_id = ${d.id} AND position = 2`.execute(
      database().db,
    );
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    const res = await client.get(`/preview/pages/${page.id}`);
    assert.equal(res.status, 200);
    assert.match(res.text, /Blocks that cannot be shown/);
    assert.match(res.text, /Block 2 \(heading\)/);
    assert.match(res.text, /&quot;text&quot;:42|"text":42/);
    assert.ok(res.text.includes("BROKENNEIGHBOUR"), "the blocks that render are shown");
    assert.equal((await anonymous().get(`/p/${slug}`)).status, 404);
    const link = await linkTo(page.id, d.number);
    const shared = await anonymous().get(`/preview/link/${link.token}`);
    assert.equal(shared.status, 404);
    assert.ok(!shared.text.includes("BROKENNEIGHBOUR"), "never half a page for a reviewer");
  });

  /** Fetches bytes with this client's cookies (or none). */
  async function getBytes(client: Client | undefined, path: string) {
    const res = await fetch(`${t.get().baseUrl}${path}`, {
      headers: client ? { cookie: client.cookieHeader() } : {},
      redirect: "manual",
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, text: body.toString("utf8") };
  }

  /** A page published with image one (revision 1) whose draft (revision 2) adds image two. */
  async function pageWithImages() {
    const [one, two] = [png(), png()];
    const page = await makePage(database(), { publish: false });
    const upload = async (bytes: Buffer, alt: string) =>
      act(database(), editor(), uploadPageFile, {
        pageId: page.id,
        version: await versionOf(database(), page.id),
        kind: "image",
        fileName: `${alt}.png`,
        bytes,
        maxBytes: 1 << 20,
        text: alt,
      });
    await upload(one, "first image");
    await act(database(), publisher(), publishPage, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
      timeZone: "Europe/London",
    });
    await act(database(), publisher(), startDraft, {
      pageId: page.id,
      version: await versionOf(database(), page.id),
    });
    await upload(two, "second image");
    return { page, one, two, draftNumber: (await draftOf(database().db, page.id))!.number };
  }

  /** A preview's file: its bytes with the file headers and the preview headers. */
  function assertPreviewFile(res: Awaited<ReturnType<typeof getBytes>>, bytes: Buffer, where: string) {
    assert.equal(res.status, 200, `${where}: ${res.status} ${res.text.slice(0, 300)}`);
    assert.ok(res.body.equals(bytes), `${where}: the file's own bytes`);
    assert.equal(res.headers.get("content-type"), "image/png", where);
    assert.match(res.headers.get("content-disposition") ?? "", /^inline; filename=/, where);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", where);
    assert.equal(res.headers.get("etag"), null, `${where}: nothing for a cache to keep`);
    assertPreviewHeaders(res, where);
  }

  test("[G09] an editor's preview shows the revision's images through /preview/ with the preview headers, to pages:preview only", async () => {
    const { page, one, two, draftNumber } = await pageWithImages();
    const { client } = await loggedIn(t, ["member", "web_editor"]);
    const preview = await client.get(`/preview/pages/${page.id}`);
    assert.equal(preview.status, 200, preview.text);
    const base = `/preview/pages/${page.id}/revisions/${draftNumber}/files/`;
    for (const bytes of [one, two]) {
      assert.ok(
        preview.text.includes(`src="${base}${sha(bytes)}"`),
        "the preview's images are under /preview/",
      );
      assertPreviewFile(await getBytes(client, `${base}${sha(bytes)}`), bytes, "editor's image");
    }
    assert.ok(!preview.text.includes('src="/admin/'), "no image points into the admin area");
    const r1 = await client.get(`/preview/pages/${page.id}/revisions/1`);
    assert.ok(r1.text.includes(`/preview/pages/${page.id}/revisions/1/files/${sha(one)}`));
    assertPreviewFile(
      await getBytes(client, `/preview/pages/${page.id}/revisions/1/files/${sha(one)}`),
      one,
      "revision 1's image",
    );
    // Revision 1 does not carry the draft's image, and a hash nobody uploaded names nothing.
    for (const path of [
      `/preview/pages/${page.id}/revisions/1/files/${sha(two)}`,
      `${base}${"0".repeat(64)}`,
      `/preview/pages/${page.id}/revisions/99/files/${sha(one)}`,
    ]) {
      const res = await getBytes(client, path);
      assert.equal(res.status, 404, path);
      assert.ok(!res.body.includes(two) && !res.body.includes(one), `${path}: no bytes`);
      assertPreviewHeaders(res, path);
    }
    const nobody = await getBytes(undefined, `${base}${sha(two)}`);
    assert.equal(nobody.status, 401);
    assert.ok(!nobody.body.includes(two));
    assertPreviewHeaders(nobody, "anonymous");
    const { client: member } = await loggedIn(t, ["member"]);
    assert.equal((await getBytes(member, `${base}${sha(two)}`)).status, 403);
    // The draft's image stays off the public site.
    assert.equal((await getBytes(undefined, `/p/${page.slug}/files/${sha(two)}`)).status, 404);
    await switchPreviews(true);
    const off = await getBytes(client, `${base}${sha(two)}`);
    assert.equal(off.status, 404, "previews off: no image either");
    assert.ok(!off.body.includes(two));
    assertPreviewHeaders(off, "previews off");
  });

  test("[G09] a share link's images come through the link: its revision only, audited, and gone with the link", async () => {
    const { page, one, two, draftNumber } = await pageWithImages();
    const link = await linkTo(page.id, draftNumber);
    const reviewer = anonymous();
    const shown = await reviewer.get(`/preview/link/${link.token}`);
    assert.equal(shown.status, 200, shown.text);
    const base = `/preview/link/${link.token}/files/`;
    for (const bytes of [one, two]) {
      assert.ok(shown.text.includes(`src="${base}${sha(bytes)}"`), "the images are under the link");
      assertPreviewFile(await getBytes(undefined, `${base}${sha(bytes)}`), bytes, "reviewer's image");
    }
    assert.ok(!shown.text.includes('src="/admin/'), "a reviewer has no account: nothing under /admin/");
    const viewed = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log
      WHERE action = 'page.preview_file_viewed' AND after->>'link' = ${link.linkId}`.execute(database().db);
    assert.equal(Number(viewed.rows[0]!.n), 2, "each image fetched through the link is an audited read");
    // A link to revision 1 opens revision 1's files only.
    const first = await linkTo(page.id, 1);
    assertPreviewFile(await getBytes(undefined, `/preview/link/${first.token}/files/${sha(one)}`), one, "r1");
    const other = await getBytes(undefined, `/preview/link/${first.token}/files/${sha(two)}`);
    assert.equal(other.status, 404);
    assert.ok(!other.body.includes(two));

    // Expired, revoked, unknown, previews off: the error page, never the file nor the published one.
    const expired = await linkTo(page.id, draftNumber);
    await sql`UPDATE page_preview_links SET created_at = now() - interval '2 days',
      expires_at = now() - interval '1 day' WHERE id = ${expired.linkId}`.execute(database().db);
    const revoked = await linkTo(page.id, draftNumber);
    await act(database(), editor(), revokePreviewLinkAction, { pageId: page.id, linkId: revoked.linkId });
    const refusals = async (when: string, tokens: string[]) => {
      for (const token of tokens)
        for (const bytes of [one, two]) {
          const res = await getBytes(undefined, `/preview/link/${token}/files/${sha(bytes)}`);
          assert.equal(res.status, 404, `${when}: ${res.status}`);
          assert.ok(!res.body.includes(bytes), `${when}: no bytes`);
          assert.match(res.headers.get("content-type") ?? "", /^text\/html/, `${when}: the error page`);
          // The preview's error page, or with previews off the guard's own refusal: an error either way.
          assert.match(res.text, /This preview cannot be shown|previews are off/, when);
          assertPreviewHeaders(res, when);
        }
    };
    await refusals("expired or revoked", [expired.token, revoked.token, `pv_${"A".repeat(43)}`]);
    await switchPreviews(true);
    await refusals("previews off", [link.token]);
    await switchPreviews(false);
    assertPreviewFile(await getBytes(undefined, `${base}${sha(two)}`), two, "previews back on");
  });

  test("[G09] robots.txt disallows /preview/", async () => {
    const res = await anonymous().get("/robots.txt");
    assert.equal(res.status, 200);
    assert.match(res.text, /^Disallow: \/preview\/$/m);
  });
});
