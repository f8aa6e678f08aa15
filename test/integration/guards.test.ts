import assert from "node:assert/strict";
import { test } from "node:test";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { sameOrigin } from "../../src/http/guards.ts";
import { routeTable } from "../../src/http/routes.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";

const auditCount = async (t: ReturnType<typeof suiteApp>) =>
  Number(
    (
      await t
        .get()
        .runtime.database.db.selectFrom("audit_log")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Fills every path parameter so the URL reaches its route. */
const concrete = (url: string) => url.replace(/:[a-zA-Z]+/g, "00000000-0000-4000-8000-000000000000");

test("[G03] Origin: null is our own only with Sec-Fetch-Site: same-origin (a no-referrer page's form)", () => {
  const from = (headers: Record<string, string>) =>
    sameOrigin({ headers: { host: "club.example", ...headers } });
  assert.equal(from({ origin: "null", "sec-fetch-site": "same-origin" }), true);
  for (const site of ["cross-site", "same-site", "none", "SAME-ORIGIN", ""])
    assert.equal(from({ origin: "null", "sec-fetch-site": site }), false, `Sec-Fetch-Site: ${site}`);
  assert.equal(from({ origin: "null" }), false, "null alone (a sandboxed frame, a data: page)");
  assert.equal(from({ origin: "https://club.example" }), true);
  assert.equal(from({ origin: "https://evil.example", "sec-fetch-site": "same-origin" }), false);
  assert.equal(from({}), true, "no Origin: not a browser form (the CSRF token still holds)");
});

forEachEngine("authorization gates", (engine) => {
  const t = suiteApp(engine);

  test("[G03] every write route refuses a request with no session: 401 and nothing written", async () => {
    const before = await auditCount(t);
    const client = new Client(t.get().baseUrl);
    const writes = routeTable(t.get().app).filter((r) => r.writes && r.capability !== "public");
    assert.ok(writes.length > 0);
    for (const r of writes) {
      const res = await client.request(r.method, concrete(r.url), {
        form: { mode: "read-only", reason: "x" },
      });
      assert.equal(res.status, 401, `${r.method} ${r.url}`);
    }
    assert.equal(await auditCount(t), before);
  });

  test("[G03] a member without the capability gets 403 and nothing is written", async () => {
    const member = await createMember(t.get().runtime, ["member"]);
    const client = new Client(t.get().baseUrl);
    assert.equal((await client.login(member.email, member.password)).status, 303);
    const before = await auditCount(t);
    const res = await client.postForm("/admin/system/mode", { mode: "read-only", reason: "try" });
    assert.equal(res.status, 403);
    assert.match(res.text, /do not have permission/);
    assert.equal(await auditCount(t), before);
    const state = await t.get().runtime.modes.refresh();
    assert.equal(state?.mode, "normal");
  });

  test("[G03] a signed-in form post with Origin: null goes through only when the browser says same-origin", async () => {
    const operator = await createMember(t.get().runtime, ["member", "operator"]);
    const client = new Client(t.get().baseUrl);
    assert.equal((await client.login(operator.email, operator.password)).status, 303);
    const csrf = await client.csrf();
    const post = (headers: Record<string, string>) =>
      client.request("POST", "/admin/system/mode", {
        form: { _csrf: csrf, mode: "normal", reason: "origin null" },
        headers: { origin: "null", ...headers },
      });
    const before = await auditCount(t);
    const refused: Record<string, string>[] = [
      {},
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of refused) {
      const res = await post(headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.text, /came from another site/);
    }
    assert.equal(await auditCount(t), before, "nothing written by a refused post");
    // What a browser sends from a preview page (Referrer-Policy: no-referrer) on our own site.
    const res = await post({ "sec-fetch-site": "same-origin" });
    assert.equal(res.status, 303, res.text);
    assert.equal(await auditCount(t), before + 1);
  });

  test("[G10] read-only mode refuses every write route with 503, while login and the mode switch still work", async () => {
    const { runtime, baseUrl, app } = t.get();
    const operator = await createMember(runtime, ["member", "operator", "full_admin"]);
    const client = new Client(baseUrl);
    assert.equal((await client.login(operator.email, operator.password)).status, 303);
    await runAction(runtime.actionEnv(operatorActor("test")), setMode, {
      mode: "read-only",
      reason: "drill",
    });
    await runtime.modes.refresh();
    const token = await client.csrf();
    const refused = routeTable(app).filter((r) => r.writes && r.degraded.readOnly === "refused");
    assert.ok(refused.length > 0);
    for (const r of refused) {
      const res = await client.request(r.method, concrete(r.url), { form: { _csrf: token } });
      assert.equal(res.status, 503, `${r.method} ${r.url}`);
      assert.equal(res.headers.get("clubos-read-only"), "true");
      assert.ok(res.headers.get("retry-after"));
      assert.match(res.text, /read-only/);
    }
    const other = new Client(baseUrl);
    assert.equal((await other.login(operator.email, operator.password)).status, 303, "login still works");
    const back = await client.request("POST", "/admin/system/mode", {
      form: { _csrf: token, mode: "normal", reason: "drill over" },
    });
    assert.equal(back.status, 303, "the mode switch still works");
    assert.equal((await runtime.modes.refresh())?.mode, "normal");
  });
});
