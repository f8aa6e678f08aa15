import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { assertAuditAttributed, countRows, loggedIn } from "../helpers/identity.ts";

/** The cells of one column's kind in a rendered table, e.g. every "<td>role.granted</td>". */
const cells = (html: string, text: string) => html.split(`<td>${text}</td>`).length - 1;

forEachEngine("operator pages and the system API", (engine) => {
  const t = suiteApp(engine);
  const operator = () => loggedIn(t, ["member", "operator", "full_admin"]);

  test("[G13] the audit log filters by action; its filters are bounded and checked before any query", async () => {
    const { client } = await operator();
    const all = await client.get("/admin/audit");
    assert.equal(all.status, 200);
    assert.ok(cells(all.text, "session.started") > 0, "the unfiltered log shows logins");
    const granted = await client.get("/admin/audit?action=role.granted");
    assert.equal(granted.status, 200);
    assert.ok(cells(granted.text, "role.granted") > 0);
    assert.equal(cells(granted.text, "session.started"), 0, "only the filtered action");
    // What the filter form sends when its fields are left empty.
    assert.equal((await client.get("/admin/audit?actor=&action=&subject=&from=&to=")).status, 200);
    assert.equal((await client.get("/admin/audit?from=2026-01-01&to=2099-12-31")).status, 200);
    for (const query of [
      `actor=${"x".repeat(201)}`,
      "from=yesterday",
      "to=2026-13-01",
      "beforeSeq=0",
      "beforeSeq=abc",
      "action=a&action=b",
      "subject=%00",
    ]) {
      const res = await client.get(`/admin/audit?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(res.text, /not valid/, query);
    }
  });

  test("the outbox page checks its filters; an unknown or malformed message id is 404", async () => {
    const { client } = await operator();
    assert.equal((await client.get("/admin/outbox")).status, 200);
    assert.equal((await client.get("/admin/outbox?topic=&status=&before=")).status, 200);
    assert.equal((await client.get("/admin/outbox?status=sent")).status, 200);
    for (const query of ["status=lost", `topic=${"t".repeat(201)}`, "before=not-a-uuid"]) {
      assert.equal((await client.get(`/admin/outbox?${query}`)).status, 400, query);
    }
    assert.equal((await client.get(`/admin/outbox/${randomUUID()}`)).status, 404);
    assert.equal((await client.get("/admin/outbox/not-a-uuid")).status, 404);
  });

  test("[G10] a kill switch form must say on or off; the switch then shows in /api/v1/system/state", async () => {
    const { client } = await operator();
    const before = await countRows(t, "audit_log");
    const unclear = await client.postForm("/admin/system/switch", {
      name: "admin_freeze",
      on: "maybe",
      reason: "drill",
    });
    assert.equal(unclear.status, 400);
    assert.match(unclear.text, /Say whether the switch goes on or off/);
    assert.equal(await countRows(t, "audit_log"), before, "nothing was written");
    const on = await client.postForm("/admin/system/switch", {
      name: "admin_freeze",
      on: "true",
      reason: "drill",
    });
    assert.equal(on.status, 303);
    try {
      const state = await client.get("/api/v1/system/state");
      assert.equal(state.status, 200);
      const body = JSON.parse(state.text);
      assert.equal(body.mode, "normal");
      assert.equal(body.adminFreeze, true);
      assert.equal(body.publishFreeze, false);
      assert.equal(body.reason, "drill");
      assert.match(body.changedBy, /^member:/);
      assert.equal(new Date(body.changedAt).toISOString(), body.changedAt, "an ISO 8601 instant");
      assert.equal(body.admin_freeze, undefined, "no internal column names");
    } finally {
      const off = await client.postForm("/admin/system/switch", {
        name: "admin_freeze",
        on: "false",
        reason: "drill over",
      });
      assert.equal(off.status, 303);
    }
  });

  test("POST /api/v1/system/mode with an Idempotency-Key runs once; a replay gets the first answer", async () => {
    const { client } = await operator();
    const csrf = await client.csrf();
    const send = (mode: string) =>
      client.request("POST", "/api/v1/system/mode", {
        json: { mode, reason: "idempotency drill" },
        headers: { "x-csrf-token": csrf, "idempotency-key": `drill-${randomUUID()}` },
      });
    const key = `drill-${randomUUID()}`;
    const sendWithKey = () =>
      client.request("POST", "/api/v1/system/mode", {
        json: { mode: "normal", reason: "idempotency drill" },
        headers: { "x-csrf-token": csrf, "idempotency-key": key },
      });
    const before = await countRows(t, "audit_log");
    const first = await sendWithKey();
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.text), { mode: "normal" });
    const replay = await sendWithKey();
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.equal(replay.text, first.text);
    assert.equal(await countRows(t, "audit_log"), before + 1, "one change, one audit entry");
    const unknown = await send("asleep");
    assert.equal(unknown.status, 400, "the body schema names the modes");
    assert.equal(JSON.parse(unknown.text).error.code, "invalid_input");
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});
