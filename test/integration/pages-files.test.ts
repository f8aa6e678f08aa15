import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { before, test } from "node:test";
import { sql } from "kysely";
import { takeBackup } from "../../src/app/backup-env.ts";
import { restoreInPlace } from "../../src/app/restore-flow.ts";
import { operatorActor } from "../../src/core/actor.ts";
import type { Database } from "../../src/core/db/connect.ts";
import {
  publishPage,
  removeBlock,
  startDraft,
  uploadPageFile,
} from "../../src/domains/pages/pages.actions.ts";
import { pagesInvariantChecks } from "../../src/domains/pages/pages.invariants.ts";
import { blocksOfRevision, draftOf, findPage } from "../../src/domains/pages/pages.repository.ts";
import { createMember, startTestApp, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { act, makePage, publisher, versionOf } from "../helpers/pages.ts";

/** A 1x1 PNG, made unique by bytes after its end (a viewer ignores them; its hash differs). */
const ONE_PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);
const png = () => Buffer.concat([ONE_PIXEL, randomBytes(16)]);
const pdf = () => Buffer.from(`%PDF-1.4\n% ${randomBytes(8).toString("hex")}\n1 0 obj<<>>endobj\n%%EOF\n`);
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const MAX = 4096;

/** Uploads through the editor's form, as a browser without JavaScript sends it (multipart, CSRF). */
async function upload(
  client: Client,
  pageId: string,
  file: { name: string; bytes: Buffer; kind?: "image" | "file"; alt?: string; label?: string },
) {
  const editor = await client.get(`/admin/pages/${pageId}`);
  assert.equal(editor.status, 200);
  const form = new FormData();
  const field = (name: string) => editor.text.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1] ?? "";
  form.set("_csrf", field("_csrf"));
  form.set("version", field("version"));
  form.set("kind", file.kind ?? "image");
  form.set("alt", file.alt ?? "");
  form.set("label", file.label ?? "");
  form.set("file", new Blob([new Uint8Array(file.bytes)]), file.name);
  const response = await fetch(`${client.baseUrl}/admin/pages/${pageId}/files`, {
    method: "POST",
    headers: { cookie: client.cookieHeader() },
    body: form,
    redirect: "manual",
  });
  return { status: response.status, text: await response.text(), location: response.headers.get("location") };
}

async function fileRows(database: Database) {
  const n = async (table: "page_files" | "page_file_contents") =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { files: await n("page_files"), contents: await n("page_file_contents") };
}

async function getBytes(client: Client | undefined, url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    headers: { ...headers, ...(client ? { cookie: client.cookieHeader() } : {}) },
    redirect: "manual",
  });
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  };
}

const filesOwned = pagesInvariantChecks.find((c) => c.id === "pages.files_owned")!;

forEachEngine("files and images of pages (issue 10: files follow their page's audience)", (engine) => {
  const t = suiteApp(engine, { CLUBOS_PAGE_FILE_MAX_BYTES: String(MAX) });
  let editor: Client;
  let member: Client;
  const anonymous = () => new Client(t.get().baseUrl);
  const db = () => t.get().runtime.database;

  before(async () => {
    const { runtime, baseUrl } = t.get();
    const e = await createMember(runtime, ["member", "web_editor", "full_admin"], "Edna Editor");
    editor = new Client(baseUrl);
    assert.equal((await editor.login(e.email, e.password)).status, 303);
    const m = await createMember(runtime, ["member"], "Mia Member");
    member = new Client(baseUrl);
    assert.equal((await member.login(m.email, m.password)).status, 303);
  });

  /** A page with one uploaded image (and any other files), published to this audience. */
  async function pageWith(audience: unknown, files: Parameters<typeof upload>[2][], blockAudience?: unknown) {
    const page = await makePage(db(), { audience, publish: false });
    for (const f of files) {
      const res = await upload(editor, page.id, f);
      assert.equal(res.status, 303, res.text);
      assert.equal(res.location, `/admin/pages/${page.id}?done=uploaded`);
    }
    if (blockAudience !== undefined) {
      const draft = (await draftOf(db().db, page.id))!;
      const [first] = await blocksOfRevision(db().db, draft.id);
      const { setAudience } = await import("../../src/domains/pages/pages.actions.ts");
      await act(db(), publisher(), setAudience, {
        pageId: page.id,
        version: await versionOf(db(), page.id),
        blockId: first!.id,
        audience: blockAudience,
      });
    }
    await act(db(), publisher(), publishPage, {
      pageId: page.id,
      version: await versionOf(db(), page.id),
      timeZone: "Europe/London",
    });
    return (await findPage(db().db, page.id))!;
  }

  test("an upload is checked by its content: a .png holding text is refused with file_type_refused, and nothing is kept", async () => {
    const page = await makePage(db(), { publish: false });
    const before = await fileRows(db());
    const res = await upload(editor, page.id, {
      name: "photo.png",
      bytes: Buffer.from("<html><script>alert(1)</script></html>"),
      alt: "A photo",
    });
    assert.equal(res.status, 415);
    assert.match(res.text, /not a PNG, JPEG, GIF, WebP or AVIF image, whatever its name says/);
    assert.deepEqual(await fileRows(db()), before);
    // The same refusal, by its stable code, for any caller of the action.
    await assert.rejects(
      act(db(), publisher(), uploadPageFile, {
        pageId: page.id,
        version: await versionOf(db(), page.id),
        kind: "image",
        fileName: "photo.png",
        bytes: Buffer.from("just text"),
        maxBytes: MAX,
        text: "A photo",
      }),
      (error: { code?: string }) => error.code === "file_type_refused",
    );
    // A PDF is a file, not an image.
    const asImage = await upload(editor, page.id, { name: "form.png", bytes: pdf(), alt: "Form" });
    assert.equal(asImage.status, 415);
    assert.deepEqual(await fileRows(db()), before);
  });

  test("an upload over the configured size is refused with file_too_large, and no row is written", async () => {
    const page = await makePage(db(), { publish: false });
    const before = await fileRows(db());
    const big = Buffer.concat([ONE_PIXEL, randomBytes(MAX)]);
    const res = await upload(editor, page.id, { name: "big.png", bytes: big, alt: "Too big" });
    assert.equal(res.status, 413);
    assert.match(res.text, /larger than 0 MB|larger than [0-9.,]+ MB/);
    assert.deepEqual(await fileRows(db()), before);
    assert.equal((await blocksOfRevision(db().db, (await draftOf(db().db, page.id))!.id)).length, 0);
    await assert.rejects(
      act(db(), publisher(), uploadPageFile, {
        pageId: page.id,
        version: await versionOf(db(), page.id),
        kind: "image",
        fileName: "big.png",
        bytes: big,
        maxBytes: MAX,
        text: "Too big",
      }),
      (error: { code?: string }) => error.code === "file_too_large",
    );
  });

  test("an image needs its alt text", async () => {
    const page = await makePage(db(), { publish: false });
    const res = await upload(editor, page.id, { name: "a.png", bytes: png(), alt: "  " });
    assert.equal(res.status, 422);
    assert.match(res.text, /alt text/);
  });

  test("a members-only page's image is 404 to anonymous visitors by its direct URL, byte for byte as a missing file; a member gets it with its headers", async () => {
    const bytes = png();
    const page = await pageWith({ type: "members" }, [{ name: "Team photo.png", bytes, alt: "The team" }]);
    const url = `${t.get().baseUrl}/p/${page.slug}/files/${sha(bytes)}`;
    const missing = `${t.get().baseUrl}/p/${page.slug}/files/${sha(randomBytes(8))}`;

    const hidden = await getBytes(undefined, url);
    const absent = await getBytes(undefined, missing);
    assert.equal(hidden.status, 404);
    assert.equal(absent.status, 404);
    assert.ok(hidden.body.equals(absent.body), "the hidden file's 404 is the missing file's, byte for byte");
    for (const h of ["content-type", "cache-control", "vary", "content-length"])
      assert.equal(hidden.headers.get(h), absent.headers.get(h), h);
    assert.equal(hidden.headers.get("cache-control"), "private, no-store");

    const seen = await getBytes(member, url);
    assert.equal(seen.status, 200);
    assert.ok(seen.body.equals(bytes), "the member gets the very bytes uploaded");
    assert.equal(seen.headers.get("content-type"), "image/png");
    assert.equal(seen.headers.get("x-content-type-options"), "nosniff");
    assert.match(seen.headers.get("content-security-policy") ?? "", /sandbox/, "nothing in a file runs");
    assert.equal(
      seen.headers.get("content-disposition"),
      `inline; filename="Team photo.png"; filename*=UTF-8''Team%20photo.png`,
    );
    assert.equal(seen.headers.get("cache-control"), "private, no-store");
    assert.equal(seen.headers.get("etag"), null);

    // The page shows it to the member, and the anonymous visitor's 404 page does not name it.
    const shown = await member.get(`/p/${page.slug}`);
    assert.match(shown.text, new RegExp(`<img src="/p/${page.slug}/files/${sha(bytes)}" alt="The team"`));
  });

  test("a public page's image is kept by shared caches with an ETag; a file is an attachment with its name encoded safely", async () => {
    const image = png();
    const doc = pdf();
    const page = await pageWith({ type: "public" }, [
      { name: "logo.png", bytes: image, alt: "Club logo" },
      { name: "Anmeldung für 2026; v2.pdf", bytes: doc, kind: "file", label: "Entry form (PDF)" },
    ]);
    const url = `${t.get().baseUrl}/p/${page.slug}/files/${sha(image)}`;
    const res = await getBytes(undefined, url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "public, max-age=300");
    assert.equal(res.headers.get("etag"), `"${sha(image)}"`);
    const again = await getBytes(undefined, url, { "if-none-match": `"${sha(image)}"` });
    assert.equal(again.status, 304);

    const file = await getBytes(undefined, `${t.get().baseUrl}/p/${page.slug}/files/${sha(doc)}`);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get("content-type"), "application/pdf");
    assert.equal(
      file.headers.get("content-disposition"),
      `attachment; filename="Anmeldung f_r 2026_ v2.pdf"; filename*=UTF-8''Anmeldung%20f%C3%BCr%202026%3B%20v2.pdf`,
    );
    assert.equal(file.headers.get("x-content-type-options"), "nosniff");
  });

  test("an image in a block restricted to members, on a public page: 404 anonymously, private no-store for a member", async () => {
    const bytes = png();
    const page = await pageWith({ type: "public" }, [{ name: "a.png", bytes, alt: "Members" }], {
      type: "members",
    });
    const url = `${t.get().baseUrl}/p/${page.slug}/files/${sha(bytes)}`;
    assert.equal((await getBytes(undefined, url)).status, 404);
    const seen = await getBytes(member, url);
    assert.equal(seen.status, 200);
    assert.equal(seen.headers.get("cache-control"), "private, no-store");
    assert.equal(seen.headers.get("etag"), null);
    const publicPage = await anonymous().get(`/p/${page.slug}`);
    assert.equal(publicPage.status, 200);
    assert.ok(!publicPage.text.includes(sha(bytes)), "the hidden block leaves no trace");
  });

  test("files follow their revision: a new draft carries them, the published revision's files cannot change (trigger), and without the trigger they could", async () => {
    const bytes = png();
    const page = await pageWith({ type: "public" }, [{ name: "a.png", bytes, alt: "First" }]);
    const published = page.current_published_revision_id!;
    const by = publisher();
    await act(db(), by, startDraft, { pageId: page.id, version: await versionOf(db(), page.id) });
    const draft = (await draftOf(db().db, page.id))!;
    const carried = await db()
      .db.selectFrom("page_files")
      .select("sha256")
      .where("revision_id", "=", draft.id)
      .execute();
    assert.deepEqual(
      carried.map((r) => r.sha256),
      [sha(bytes)],
    );
    // Removing the image from the draft leaves the published revision's file as it is.
    const [block] = await blocksOfRevision(db().db, draft.id);
    await act(db(), by, removeBlock, {
      pageId: page.id,
      version: await versionOf(db(), page.id),
      blockId: block!.id,
    });
    assert.equal(
      (await db().db.selectFrom("page_files").select("sha256").where("revision_id", "=", draft.id).execute())
        .length,
      0,
    );
    const url = `${t.get().baseUrl}/p/${page.slug}/files/${sha(bytes)}`;
    assert.equal((await getBytes(undefined, url)).status, 200, "the published page still shows it");

    const refused = (error: unknown) => (error as { code?: string }).code === "CB021";
    await assert.rejects(
      sql`DELETE FROM page_files WHERE revision_id = ${published}`.execute(db().db),
      refused,
    );
    await assert.rejects(
      sql`UPDATE page_files SET file_name = 'other.png' WHERE revision_id = ${published}`.execute(db().db),
      refused,
    );
    await assert.rejects(
      sql`UPDATE page_file_contents SET content_type = 'text/html' WHERE sha256 = ${sha(bytes)}`.execute(
        db().db,
      ),
    );
    // The trigger is what refuses: dropped (in a transaction undone after), the same delete goes through.
    const undone = new Error("undo");
    await assert.rejects(
      db()
        .db.transaction()
        .execute(async (trx) => {
          await sql`DROP TRIGGER page_files_frozen ON page_files`.execute(trx);
          const res = await sql`DELETE FROM page_files WHERE revision_id = ${published}`.execute(trx);
          assert.equal(Number(res.numAffectedRows), 1);
          throw undone;
        }),
      (error) => error === undone,
    );
  });

  test("[INV-5] pages.files_owned finds a file no block shows, and a block showing a file its revision lacks", async () => {
    const clean = await sql`${filesOwned.sql}`.execute(db().db);
    assert.deepEqual(clean.rows, [], "no violation after the uploads above");
    const page = await makePage(db(), { publish: false });
    const bytes = png();
    assert.equal((await upload(editor, page.id, { name: "x.png", bytes, alt: "X" })).status, 303);
    const draft = (await draftOf(db().db, page.id))!;
    const undone = new Error("undo");
    await assert.rejects(
      db()
        .db.transaction()
        .execute(async (trx) => {
          await sql`DELETE FROM page_blocks WHERE revision_id = ${draft.id}`.execute(trx);
          const orphan = await sql<{ detail: string }>`${filesOwned.sql}`.execute(trx);
          assert.equal(orphan.rows.length, 1);
          assert.match(orphan.rows[0]!.detail, /that none of its blocks shows/);
          throw undone;
        }),
      (error) => error === undone,
    );
    await assert.rejects(
      db()
        .db.transaction()
        .execute(async (trx) => {
          await sql`DELETE FROM page_files WHERE revision_id = ${draft.id}`.execute(trx);
          const dangling = await sql<{ detail: string }>`${filesOwned.sql}`.execute(trx);
          const details = dangling.rows.map((r) => r.detail).join("\n");
          assert.match(details, /does not carry/);
          assert.match(details, /no revision carries it/);
          throw undone;
        }),
      (error) => error === undone,
    );
  });

  test("the editor shows the upload form, multipart with its CSRF token", async () => {
    const page = await makePage(db(), { publish: false });
    const res = await editor.get(`/admin/pages/${page.id}`);
    assert.match(
      res.text,
      /<form method="post" action="\/admin\/pages\/[^"]+\/files" enctype="multipart\/form-data">/,
    );
    // Without the token (another site's form) nothing is uploaded.
    const before = await fileRows(db());
    const form = new FormData();
    form.set("version", String(await versionOf(db(), page.id)));
    form.set("alt", "x");
    form.set("file", new Blob([new Uint8Array(png())]), "x.png");
    const forged = await fetch(`${t.get().baseUrl}/admin/pages/${page.id}/files`, {
      method: "POST",
      headers: { cookie: editor.cookieHeader() },
      body: form,
      redirect: "manual",
    });
    assert.equal(forged.status, 403);
    assert.deepEqual(await fileRows(db()), before);
    // Anonymous: refused before the body is read.
    const anon = await fetch(`${t.get().baseUrl}/admin/pages/${page.id}/files`, {
      method: "POST",
      body: form,
    });
    assert.equal(anon.status, 401);
  });
});

forEachEngine("page files are carried by backups and restores (bytes kept in the database)", (engine) => {
  test("a page's image is back, byte for byte and still served, after a backup and a restore", async () => {
    const app = await startTestApp(engine);
    try {
      const { runtime, config, baseUrl } = app;
      const e = await createMember(runtime, ["member", "web_editor", "full_admin"], "Rita Restorer");
      const editor = new Client(baseUrl);
      await editor.login(e.email, e.password);
      const bytes = png();
      const page = await makePage(runtime.database, { publish: false });
      assert.equal((await upload(editor, page.id, { name: "a.png", bytes, alt: "Kept" })).status, 303);
      await act(runtime.database, publisher(), publishPage, {
        pageId: page.id,
        version: await versionOf(runtime.database, page.id),
        timeZone: "Europe/London",
      });
      const made = await takeBackup(config, runtime.database, "operator:test");
      // Lost after the backup: the bytes and their reference.
      await sql`ALTER TABLE page_files DISABLE TRIGGER page_files_frozen`.execute(runtime.database.db);
      await sql`DELETE FROM page_files`.execute(runtime.database.db);
      await sql`DELETE FROM page_file_contents`.execute(runtime.database.db);
      await sql`ALTER TABLE page_files ENABLE TRIGGER page_files_frozen`.execute(runtime.database.db);
      const url = `${baseUrl}/p/${page.slug}/files/${sha(bytes)}`;
      assert.equal((await getBytes(undefined, url)).status, 404);

      const outcome = await restoreInPlace(runtime, operatorActor("alice"), { id: made.id, reason: "test" });
      assert.equal(outcome.verified, true, JSON.stringify(outcome.steps));
      const back = await getBytes(undefined, url);
      assert.equal(back.status, 200);
      assert.ok(back.body.equals(bytes), "the restored file is the uploaded one, byte for byte");
    } finally {
      await app.close();
    }
  });
});
