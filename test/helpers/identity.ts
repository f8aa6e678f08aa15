import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { RoleKey } from "../../src/core/capabilities.ts";
import { createMember, type suiteApp } from "./app.ts";
import { Client } from "./http.ts";

/** The handle suiteApp returns. */
export type Suite = ReturnType<typeof suiteApp>;

/** sha256 hex, computed here rather than with the app's hashSecret so a change to what is stored shows. */
export const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** GET /api/v1/me with exactly these headers and no cookie jar, like a replayed cookie or a script. */
export async function meWith(baseUrl: string, headers: Record<string, string>) {
  const res = await fetch(`${baseUrl}/api/v1/me`, { headers });
  const body = (await res.json()) as { capabilities?: string[]; error?: { code: string } };
  return { status: res.status, body };
}

/** The cookie header carrying this session token. */
export const sessionCookie = (token: string) => ({ cookie: `clubos_session=${token}` });

/** A member logged in through the form; returns the client, its raw session token and the response. */
export async function loggedIn(t: Suite, roles: RoleKey[] = ["member"]) {
  const member = await createMember(t.get().runtime, roles);
  const client = new Client(t.get().baseUrl);
  const res = await client.login(member.email, member.password);
  assert.equal(res.status, 303, "login succeeds");
  const token = client.cookie("clubos_session");
  assert.ok(token, "login sets the session cookie");
  return { member, client, token, res };
}

/** Number of rows in a table. */
export async function countRows(
  t: Suite,
  table: "audit_log" | "sessions" | "role_assignments" | "api_tokens" | "members" | "accounts",
): Promise<number> {
  const row = await t
    .get()
    .runtime.database.db.selectFrom(table)
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** G13: every audit entry names its actor as type:id matching actor_type, and member actors exist. */
export async function assertAuditAttributed(t: Suite): Promise<void> {
  const db = t.get().runtime.database.db;
  const rows = await db.selectFrom("audit_log").select(["actor_type", "actor_id", "action"]).execute();
  assert.ok(rows.length > 0, "the suite wrote audit entries");
  const members = new Set((await db.selectFrom("members").select("id").execute()).map((m) => m.id));
  for (const r of rows) {
    assert.ok(r.actor_id.startsWith(`${r.actor_type}:`), `${r.action} by ${r.actor_id}`);
    const id = r.actor_id.slice(r.actor_type.length + 1).trim();
    assert.ok(id.length > 0, `${r.action} names who acted`);
    if (r.actor_type === "member") assert.ok(members.has(id), `${r.action}: ${id} is a member`);
  }
}
