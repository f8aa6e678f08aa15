import assert from "node:assert/strict";
import { test } from "node:test";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { ClubError } from "../../src/core/errors.ts";
import { planMemberImport } from "../../src/domains/members/import/import.actions.ts";
import { planImport } from "../../src/domains/members/import/plan.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

let serial = 0;
const unique = (name: string) => `${name}-${++serial}-${Date.now()}@example.org`;

async function send(baseUrl: string, token: string, url: string, body: string | Buffer, type: string) {
  const res = await fetch(baseUrl + url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": type },
    body: typeof body === "string" ? body : new Blob([Uint8Array.from(body)]),
  });
  const text = await res.text();
  return { status: res.status, text, json: text.startsWith("{") ? JSON.parse(text) : undefined };
}

const stored = async (runtime: Runtime) =>
  Number(
    (
      await runtime.database.db
        .selectFrom("member_imports")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

forEachEngine("member import input", (engine) => {
  const t = suiteApp(engine);
  let admin: { token: string; memberId: string };
  const csvBody = (csv: string | Buffer, query = "") =>
    send(t.get().baseUrl, admin.token, `/api/v1/members/import${query}`, csv, "text/csv; charset=utf-8");
  const jsonBody = (body: unknown) =>
    send(t.get().baseUrl, admin.token, "/api/v1/members/import", JSON.stringify(body), "application/json");

  test("setup: a membership chair with an API token", async () => {
    admin = await tokenMember(t.get().runtime, ["member", "membership_chair"]);
  });

  test("a lone surrogate in the file name is refused with 400; a query string cannot carry one; nothing unstorable is stored", async () => {
    const { runtime } = t.get();
    const before = await stored(runtime);
    const csv = `name,email\nAnn,${unique("ann")}\n`;
    const json = await jsonBody({ csv, fileName: "members\ud800.csv" });
    assert.equal(json.status, 400, json.text);
    assert.equal(json.json.error.code, "invalid_input");
    // A query string is percent-encoded UTF-8: a lone surrogate cannot be spelt there, and the bytes of
    // one (CESU-8) are not UTF-8, so the name is kept as it was sent, undecoded, which is storable.
    const query = await csvBody(csv, "?fileName=members%ED%A0%80.csv");
    assert.equal(query.status, 201, query.text);
    assert.equal(query.json.fileName, "members%ED%A0%80.csv");
    assert.equal(await stored(runtime), before + 1, "only the upload with a readable name is stored");
  });

  test("a NUL in a field is refused with 400 (csv_invalid from a file, invalid_input from JSON or a form)", async () => {
    const { runtime, baseUrl } = t.get();
    const before = await stored(runtime);
    const nul = `name,email\nAn\u0000n,${unique("nul")}\n`;
    const file = await csvBody(Buffer.from(nul, "utf8"));
    assert.equal(file.status, 400, file.text);
    assert.equal(file.json.error.code, "csv_invalid");
    assert.match(file.json.error.message, /^Line 2: This is not a CSV text file/);
    const json = await jsonBody({ csv: nul });
    assert.equal(json.status, 400, json.text);
    assert.equal(json.json.error.code, "invalid_input");
    const lone = await jsonBody({ csv: `name,email\nAnn\udc00,${unique("lone")}\n` });
    assert.equal(lone.status, 400, lone.text);
    assert.equal(lone.json.error.code, "invalid_input");
    const name = await jsonBody({ csv: `name,email\nAnn,${unique("ok")}\n`, fileName: "a\u0000.csv" });
    assert.equal(name.status, 400);
    assert.equal(name.json.error.code, "invalid_input");

    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const form = await browser.postForm("/admin/members/import", { csv: nul }, "/admin/members/import");
    assert.equal(form.status, 400);
    assert.match(form.text, /not valid/);
    assert.equal(await stored(runtime), before);
  });

  test("the dry run itself refuses unstorable text and keeps a long file name whole, for callers that skip the routes", async () => {
    const { runtime } = t.get();
    const db = runtime.database.db;
    await assert.rejects(
      planImport(db, `name,email\nAnn\ud800,${unique("plan")}\n`, "x.csv"),
      (error: unknown) =>
        error instanceof ClubError &&
        error.code === "csv_invalid" &&
        /^Line 2: .*broken character/.test(error.message),
    );
    // 199 letters and an emoji: cut at 200 UTF-16 units, the emoji would be halved into a lone surrogate,
    // which PostgreSQL refuses to store.
    const longName = `${"a".repeat(199)}\u{1F600}b.csv`;
    const plan = await planImport(db, `name,email\nAnn,${unique("long")}\n`, longName);
    assert.equal(plan.fileName, `${"a".repeat(199)}\u{1F600}`);
    const { importId } = await runAction(runtime.actionEnv(operatorActor("ops")), planMemberImport, { plan });
    const row = await db
      .selectFrom("member_imports")
      .select("file_name")
      .where("id", "=", importId)
      .executeTakeFirstOrThrow();
    assert.equal(row.file_name, plan.fileName);
  });

  test("the CSV parser and its 10 MB limit belong to the dry run alone: other routes answer 415 and keep the server's limit", async () => {
    const { baseUrl } = t.get();
    // Over the server's 1 MB: read on the dry run (it then refuses the content), refused elsewhere.
    const big = `name\n${"x".repeat(1_500_000)}\n`;
    const read = await csvBody(big);
    assert.equal(read.status, 400, read.text.slice(0, 300));
    assert.equal(read.json.error.code, "csv_invalid", "the body was read and its content judged");
    assert.match(read.json.error.message, /no email column/);
    const id = "00000000-0000-4000-8000-000000000000";
    for (const url of [`/api/v1/members/import/${id}/confirm`, "/api/v1/members"]) {
      const other = await send(baseUrl, admin.token, url, "name,email\n", "text/csv");
      assert.equal(other.status, 415, `${url}: ${other.text}`);
      assert.equal(other.json.error.code, "unsupported_media_type");
    }
    const tooBig = await csvBody(`name,email\n${"x".repeat(10 * 1024 * 1024)}\n`);
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.json.error.code, "too_large");
    // The dry run's limit is the route's: the same file as JSON {csv} is read too, and judged alike.
    const json = await jsonBody({ csv: big });
    assert.equal(json.status, 400, json.text.slice(0, 300));
    assert.equal(json.json.error.code, "csv_invalid");
    const tooBigJson = await jsonBody({ csv: "x".repeat(10 * 1024 * 1024) });
    assert.equal(tooBigJson.status, 413);
    // Anywhere else a body over the server's 512 KB limit is refused unread.
    const elsewhere = await send(
      baseUrl,
      admin.token,
      "/api/v1/members",
      JSON.stringify({ name: big }),
      "application/json",
    );
    assert.equal(elsewhere.status, 413, elsewhere.text.slice(0, 200));
  });

  test("an import is its author's: another chair can neither confirm nor resume it (404), and nothing moves", async () => {
    const { runtime, baseUrl } = t.get();
    const other = await tokenMember(runtime, ["member", "membership_chair"]);
    const email = unique("theirs");
    const dry = await csvBody(`name,email\nTheirs,${email}\n`);
    assert.equal(dry.status, 201, dry.text);
    const { importId, fileHash } = dry.json;
    for (const [verb, body] of [
      ["confirm", { fileHash }],
      ["resume", undefined],
    ] as const) {
      const res = await fetch(`${baseUrl}/api/v1/members/import/${importId}/${verb}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${other.token}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      assert.equal(res.status, 404, verb);
    }
    const row = await runtime.database.db
      .selectFrom("member_imports")
      .select("status")
      .where("id", "=", importId)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, "planned");
    const members = await runtime.database.db
      .selectFrom("members")
      .select("id")
      .where("email", "=", email)
      .execute();
    assert.equal(members.length, 0);
  });

  test("a double click on the upload form stores one dry run (one-time form token)", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const form = await browser.get("/admin/members/import");
    const token = form.text.match(/name="_form" value="([0-9a-f]+)"/)?.[1];
    assert.ok(token, "the form carries a one-time token");
    const csrf = form.text.match(/name="_csrf" value="([^"]*)"/)?.[1] ?? "";
    const fields = { _csrf: csrf, _form: token, csv: `name,email\nTwice,${unique("twice")}\n` };
    const before = await stored(runtime);
    const first = await browser.request("POST", "/admin/members/import", { form: fields });
    const second = await browser.request("POST", "/admin/members/import", { form: fields });
    assert.equal(first.status, 303);
    assert.equal(second.status, 303);
    assert.equal(second.headers.get("location"), first.headers.get("location"));
    assert.equal(await stored(runtime), before + 1);
  });
});
