import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { idempotencyPurgeJob } from "../../src/core/idempotency.job.ts";
import { canonicalJson } from "../../src/core/idempotency.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { publishedEvent, tokenMember } from "../helpers/events.ts";

/** POSTs with an Idempotency-Key and returns the response's exact body bytes. */
async function postRaw(baseUrl: string, token: string, path: string, body: unknown, key: string) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    replayed: response.headers.get("idempotent-replayed") === "true",
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

/** Stores keys as runIdempotent would, expiring in `minutes` (negative: already expired). */
async function storeKeys(runtime: Runtime, prefix: string, count: number, minutes: number): Promise<void> {
  await sql`INSERT INTO idempotency_keys (caller, key, request_hash, response_status, response_body, expires_at)
    SELECT 'member:test', ${prefix} || n, 'hash', 201, '{}'::jsonb, now() + make_interval(mins => ${minutes})
    FROM generate_series(1, ${count}) AS n`.execute(runtime.database.db);
}

const keysLike = async (runtime: Runtime, prefix: string) =>
  (
    await runtime.database.db
      .selectFrom("idempotency_keys")
      .select("key")
      .where("key", "like", `${prefix}%`)
      .execute()
  ).length;

forEachEngine("idempotency key replays and their purge", (engine) => {
  const t = suiteApp(engine);

  test("[G02] a replay sends the first response's bytes, content type and status again", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["member", "membership_chair"]);
    // A member row: many keys, in an order the database's jsonb would not keep.
    const body = { name: "Byte Exact", email: `bytes-${Date.now()}@example.org` };
    const first = await postRaw(baseUrl, chair.token, "/api/v1/members", body, "member-bytes");
    assert.equal(first.status, 201, first.bytes.toString());
    const replay = await postRaw(baseUrl, chair.token, "/api/v1/members", body, "member-bytes");
    assert.ok(replay.replayed);
    assert.equal(replay.status, first.status);
    assert.equal(replay.type, first.type);
    assert.ok(
      replay.bytes.equals(first.bytes),
      `replayed:\n${replay.bytes.toString()}\nfirst:\n${first.bytes.toString()}`,
    );

    // A route with a response schema, serialised by it.
    const event = await publishedEvent(runtime);
    const path = `/api/v1/events/${event.id}/registrations`;
    const registered = await postRaw(baseUrl, chair.token, path, {}, "register-bytes");
    assert.equal(registered.status, 201, registered.bytes.toString());
    const again = await postRaw(baseUrl, chair.token, path, {}, "register-bytes");
    assert.ok(again.replayed);
    assert.ok(again.bytes.equals(registered.bytes));
  });

  test("[G02] a key stored by the previous version (the body itself) is still replayed after upgrading", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["member", "membership_chair"]);
    const body = { name: "Stored Before", email: `before-${Date.now()}@example.org` };
    const hash = createHash("sha256")
      .update(canonicalJson(["POST", "/api/v1/members", body]))
      .digest("hex");
    const first = { id: "0b8a4a8e-0000-4000-8000-000000000001", name: body.name, email: body.email };
    await runtime.database.db
      .insertInto("idempotency_keys")
      .values({
        caller: `member:${chair.memberId}`,
        key: "from-before",
        request_hash: hash,
        response_status: 201,
        response_body: JSON.stringify(first),
      })
      .execute();
    const replay = await postRaw(baseUrl, chair.token, "/api/v1/members", body, "from-before");
    assert.ok(replay.replayed);
    assert.equal(replay.status, 201);
    assert.deepEqual(JSON.parse(replay.bytes.toString()), first);
    const created = await runtime.database.db
      .selectFrom("members")
      .select("id")
      .where("email", "=", body.email)
      .execute();
    assert.deepEqual(created, [], "the work is not done twice");
  });

  test("the purge job removes keys past their expiry, in batches, and keeps the live ones", async () => {
    const { runtime } = t.get();
    await storeKeys(runtime, "expired-", 2500, -1);
    await storeKeys(runtime, "live-", 3, 60);
    const result = await runJob(runtime, idempotencyPurgeJob);
    assert.equal(result.outcome, "ok", result.reason);
    assert.ok((result.summary?.changed ?? 0) >= 2500, `removed ${result.summary?.changed}`);
    assert.equal(await keysLike(runtime, "expired-"), 0, "expired keys are gone");
    assert.equal(await keysLike(runtime, "live-"), 3, "live keys are kept");
    const second = await runJob(runtime, idempotencyPurgeJob);
    assert.equal(second.summary?.changed, 0, "a second run has nothing left to do");
  });

  test("`clubos jobs list` lists the purge and `clubos jobs run purge-idempotency-keys` runs it", async () => {
    const { runtime, config } = t.get();
    await storeKeys(runtime, "by-hand-", 2, -1);
    const lines: string[] = [];
    const env: CliEnv = {
      io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: () => {} },
      config,
      withRuntime: (fn) => fn(runtime),
    };
    assert.equal(await runCli(["jobs", "list"], env), 0, lines.join("\n"));
    assert.match(lines.join("\n"), /^purge-idempotency-keys: .* \(every 60 min; runs in normal mode\)$/m);
    assert.equal(
      await runCli(["jobs", "run", "purge-idempotency-keys", "--actor", "alice"], env),
      0,
      lines.join("\n"),
    );
    assert.match(lines.join("\n"), /purge-idempotency-keys ok: \d+ changed, 0 failed/);
    assert.equal(await keysLike(runtime, "by-hand-"), 0);
  });
});
