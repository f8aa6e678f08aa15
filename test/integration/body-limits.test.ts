import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";

const KB = 1024;
const MB = 1024 * KB;

/** The longest description an event may have (events.admin.api.ts), in the widest characters. */
const LONGEST_DESCRIPTION = "😀".repeat(20_000);

async function post(
  url: string,
  contentType: string,
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body,
    redirect: "manual",
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

/** The status line ClubOS answers with after reading only the headers and the first bytes of a body
 * announced as `length` bytes long; the rest is never sent. */
function answerBeforeBody(baseUrl: string, path: string, length: number): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    // Only so that a server waiting for the body fails the test instead of hanging it.
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer until the body was complete"));
    }, 30_000);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (!received.includes("\r\n")) return;
      clearTimeout(guard);
      socket.destroy();
      resolve(received.slice(0, received.indexOf("\r\n")));
    });
    socket.on("error", reject);
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: text/csv\r\n` +
        `Content-Length: ${length}\r\n\r\nemail,name\r\n`,
    );
  });
}

forEachEngine("request body parsers and limits", (engine) => {
  const t = suiteApp(engine);

  test("a CSV body anywhere but the member import is refused with 415 and says what to send", async () => {
    const { runtime, baseUrl } = t.get();
    const admin = await tokenMember(runtime, ["member", "full_admin"]);
    const bearer = { authorization: `Bearer ${admin.token}` };
    const csv = "email,name\nsomeone@example.org,Someone\n";
    for (const path of [
      "/api/v1/members",
      "/api/v1/events",
      "/api/v1/members/import/00000000-0000-4000-8000-000000000000/confirm",
    ]) {
      const res = await post(baseUrl + path, "text/csv", csv, bearer);
      assert.equal(res.status, 415, path);
      const error = JSON.parse(res.text).error;
      assert.equal(error.code, "unsupported_media_type", path);
      assert.match(error.message, /Send a form or JSON/);
    }
    for (const path of ["/login", "/admin/members/import"]) {
      const page = await post(baseUrl + path, "text/csv", csv, bearer);
      assert.equal(page.status, 415, path);
      assert.match(page.type, /^text\/html/, path);
      assert.match(page.text, /does not take that kind of content/, path);
    }
  });

  test("the member import takes a CSV body of up to 10 MB; more is 413", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["member", "membership_chair"]);
    const bearer = { authorization: `Bearer ${chair.token}` };
    const url = `${baseUrl}/api/v1/members/import`;
    // Larger than any other route takes, and not UTF-8: read to the end, then refused for what it is.
    const notUtf8 = await post(url, "text/csv", new Uint8Array(2 * MB).fill(0xe9), bearer);
    assert.equal(notUtf8.status, 400, notUtf8.text);
    assert.equal(JSON.parse(notUtf8.text).error.code, "csv_invalid");
    const tooLarge = await post(url, "text/csv", new Uint8Array(10 * MB + 1).fill(0x61), bearer);
    assert.equal(tooLarge.status, 413);
    assert.equal(JSON.parse(tooLarge.text).error.code, "too_large");
  });

  test("a large body for the member import is refused to an anonymous caller before it is read", async () => {
    assert.match(
      await answerBeforeBody(t.get().baseUrl, "/api/v1/members/import", 9 * MB),
      /^HTTP\/1\.1 401 /,
    );
    assert.match(
      await answerBeforeBody(t.get().baseUrl, "/admin/members/import", 9 * MB),
      /^HTTP\/1\.1 401 /,
    );
  });

  test("forms and JSON elsewhere: the largest legitimate event goes through, a body over 512 KB is 413", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["member", "events_chair"]);
    const bearer = { authorization: `Bearer ${chair.token}` };
    const form = (description: string) =>
      new URLSearchParams({
        title: "The longest evening",
        description,
        location: "Clubhouse",
        startsAt: "2031-06-01T18:00",
        endsAt: "2031-06-01T21:00",
        capacity: "30",
        audience: "members",
      }).toString();
    const widest = form(LONGEST_DESCRIPTION);
    assert.ok(widest.length > 240_000, "each character is 12 bytes url-encoded");
    const created = await post(
      `${baseUrl}/admin/events`,
      "application/x-www-form-urlencoded",
      widest,
      bearer,
    );
    assert.equal(created.status, 303, created.text);
    const json = JSON.stringify({
      title: "The longest evening, by API",
      description: LONGEST_DESCRIPTION,
      startsAt: "2031-06-01T18:00:00.000Z",
      endsAt: "2031-06-01T21:00:00.000Z",
      capacity: 30,
      audience: "members",
    });
    assert.equal((await post(`${baseUrl}/api/v1/events`, "application/json", json, bearer)).status, 201);

    const tooLong = "x".repeat(513 * KB);
    const page = await post(
      `${baseUrl}/admin/events`,
      "application/x-www-form-urlencoded",
      form(tooLong),
      bearer,
    );
    assert.equal(page.status, 413);
    assert.match(page.text, /too large for this address/);
    const api = await post(
      `${baseUrl}/api/v1/events`,
      "application/json",
      JSON.stringify({ description: tooLong }),
      bearer,
    );
    assert.equal(api.status, 413);
    assert.equal(JSON.parse(api.text).error.code, "too_large");
  });
});
