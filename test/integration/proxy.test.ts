import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { frontOf } from "../../src/http/routes.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import type { Suite } from "../helpers/identity.ts";
import { makePage } from "../helpers/pages.ts";

// The test talks to ClubOS from 127.0.0.1 and plays the reverse proxy itself: the headers below are
// what a proxy (or a client pretending through one) would send.

const metrics = (t: Suite, forwardedFor?: string) =>
  fetch(`${t.get().baseUrl}/metrics`, {
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
  });

let attempts = 0;
// A new email each time, so that only the per-address limit is in play.
const failedLogin = (t: Suite, forwardedFor: string) =>
  new Client(t.get().baseUrl).request("POST", "/login", {
    form: { email: `nobody-proxy-${++attempts}@example.org`, password: "wrong" },
    headers: { "x-forwarded-for": forwardedFor },
  });

/** Addresses the login throttle counted failures against. */
async function failureAddresses(t: Suite): Promise<Set<string>> {
  const rows = await t
    .get()
    .runtime.database.db.selectFrom("login_attempts")
    .select("ip")
    .where("succeeded", "=", false)
    .execute();
  return new Set(rows.map((r) => r.ip));
}

/** A public page of the suite's app, just kept: its next request is answered in front of the router. */
const keptPages = new WeakMap<object, string>();
async function keptPage(t: Suite): Promise<string> {
  let path = keptPages.get(t.get());
  if (!path) {
    const page = await makePage(t.get().runtime.database, {
      blocks: [{ type: "text", data: { markdown: "Kept" } }],
    });
    path = `/p/${page.slug}`;
    keptPages.set(t.get(), path);
  }
  // Kept again if anything the site shows changed since (another test's writes).
  assert.equal((await fetch(`${t.get().baseUrl}${path}`)).status, 200);
  return path;
}

/** The HSTS header sent with these headers: the same from the router's path (the welcome page) and from
 * the front's kept answers. */
async function hsts(t: Suite, headers: Record<string, string>) {
  const header = (res: Response) => res.headers.get("strict-transport-security");
  const routed = header(await fetch(`${t.get().baseUrl}/`, { headers }));
  const path = await keptPage(t);
  const front = frontOf(t.get().app);
  const before = front.answered;
  const kept = header(await fetch(`${t.get().baseUrl}${path}`, { headers }));
  assert.equal(front.answered, before + 1, "the kept page was answered in front of the router");
  assert.equal(kept, routed, "the front decides https as the router does");
  return routed;
}

/** The Set-Cookie of a successful login made with these headers. */
async function loginCookie(t: Suite, headers: Record<string, string>): Promise<string> {
  const member = await createMember(t.get().runtime);
  const res = await new Client(t.get().baseUrl).request("POST", "/login", {
    form: { email: member.email, password: member.password },
    headers,
  });
  assert.equal(res.status, 303);
  return res.headers.getSetCookie().find((h) => h.startsWith("clubos_session=")) ?? "";
}

forEachEngine("reverse proxy trust", (engine) => {
  describe("one proxy in front (CLUBOS_TRUST_PROXY=1)", () => {
    const t = suiteApp(engine, { CLUBOS_TRUST_PROXY: "1" });

    test("a client as the proxy saw it is the client: loopback through the proxy reaches /metrics, others not", async () => {
      assert.equal((await metrics(t, "127.0.0.1")).status, 200, "the proxy forwarded a loopback client");
      assert.equal((await metrics(t, "203.0.113.7")).status, 404, "the proxy forwarded a remote client");
    });

    test("a spoofed X-Forwarded-For cannot reach /metrics: only the right-most hop is the proxy's", async () => {
      for (const spoof of [
        "127.0.0.1, 203.0.113.7",
        "::1, 203.0.113.7",
        "127.0.0.1,127.0.0.1, 203.0.113.7",
      ]) {
        const res = await metrics(t, spoof);
        assert.equal(res.status, 404, spoof);
        assert.doesNotMatch(await res.text(), /clubos_http_responses_total/);
      }
    });

    test("[G03] the per-address login limit counts the real client, whatever it claims to be", async () => {
      const real = "203.0.113.50";
      const victim = "198.51.100.60";
      for (let i = 1; i <= 3; i++) {
        assert.equal((await failedLogin(t, `198.51.100.${i}, ${real}`)).status, 401);
      }
      assert.equal((await failedLogin(t, `${victim}, ${real}`)).status, 401);
      const counted = await failureAddresses(t);
      assert.ok(counted.has(real), "the failures count against the real client");
      for (const spoofed of ["198.51.100.1", "198.51.100.2", "198.51.100.3", victim])
        assert.ok(!counted.has(spoofed), `${spoofed} is not charged for someone else's failures`);

      // Test setup: the real client's throttle one short of the address limit (30).
      await t
        .get()
        .runtime.database.db.updateTable("login_throttles")
        .set({ failures: 29, last_failure_at: new Date() })
        .where("key", "=", `address:${real}`)
        .execute();
      assert.equal((await failedLogin(t, `198.51.100.9, ${real}`)).status, 401, "the 30th failure");
      const member = await createMember(t.get().runtime);
      const login = (forwardedFor: string) =>
        new Client(t.get().baseUrl).request("POST", "/login", {
          form: { email: member.email, password: member.password },
          headers: { "x-forwarded-for": forwardedFor },
        });
      assert.equal((await login(`198.51.100.10, ${real}`)).status, 429, "a fresh spoofed hop does not help");
      assert.equal((await login(real)).status, 429);
      assert.equal((await login("203.0.113.51")).status, 303, "another client is not blocked");
      assert.equal((await login(victim)).status, 303, "the address named in the spoof is not blocked");
    });

    test("https as the proxy saw it: HSTS and Secure cookies over https only, never over plain http", async () => {
      assert.equal(await hsts(t, { "x-forwarded-proto": "https" }), "max-age=31536000; includeSubDomains");
      assert.equal(await hsts(t, { "x-forwarded-proto": "http" }), null);
      assert.equal(await hsts(t, {}), null, "no forwarded proto: the connection itself is plain http");
      assert.match(await loginCookie(t, { "x-forwarded-proto": "https" }), /;\s*Secure/i);
      assert.doesNotMatch(await loginCookie(t, { "x-forwarded-proto": "http" }), /;\s*Secure/i);
    });
  });

  describe("the proxy named by address (CLUBOS_TRUST_PROXY=127.0.0.1)", () => {
    const t = suiteApp(engine, { CLUBOS_TRUST_PROXY: "127.0.0.1" });

    test("forwarded hops are read only up to the first address that is not the proxy", async () => {
      assert.equal((await metrics(t, "127.0.0.1")).status, 200);
      assert.equal((await metrics(t, "203.0.113.7")).status, 404);
      assert.equal(
        (await metrics(t, "127.0.0.1, 203.0.113.7")).status,
        404,
        "the spoofed left hop is ignored",
      );
      assert.equal(await hsts(t, { "x-forwarded-proto": "https" }), "max-age=31536000; includeSubDomains");
    });
  });

  describe("a proxy that is not the peer (CLUBOS_TRUST_PROXY=192.0.2.1)", () => {
    const t = suiteApp(engine, { CLUBOS_TRUST_PROXY: "192.0.2.1" });

    test("headers from a peer that is not a trusted proxy are ignored", async () => {
      assert.equal((await metrics(t, "203.0.113.7")).status, 200, "the peer itself is loopback");
      assert.equal(await hsts(t, { "x-forwarded-proto": "https" }), null);
    });
  });

  describe("no proxy (CLUBOS_TRUST_PROXY unset)", () => {
    const t = suiteApp(engine);

    test("X-Forwarded-For and X-Forwarded-Proto are ignored", async () => {
      assert.equal((await metrics(t, "203.0.113.7")).status, 200, "the loopback peer is what counts");
      assert.equal((await failedLogin(t, "203.0.113.80")).status, 401);
      const counted = await failureAddresses(t);
      assert.ok(!counted.has("203.0.113.80"), "the claimed address is not recorded");
      assert.ok(
        [...counted].every((ip) => /^(::ffff:)?127\.0\.0\.1$|^::1$/.test(ip)),
        [...counted].join(),
      );
      assert.equal(await hsts(t, { "x-forwarded-proto": "https" }), null);
      assert.doesNotMatch(await loginCookie(t, { "x-forwarded-proto": "https" }), /;\s*Secure/i);
    });
  });
});
