import assert from "node:assert/strict";
import { sql } from "kysely";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import type { TestApp } from "./app.ts";
import type { Client } from "./http.ts";

/* Helpers of the invitation and password-reset tests. */

let counter = 0;

/** A member without a login (as an admin adds or imports one). */
export async function memberWithoutLogin(app: TestApp, name = "Invitee") {
  counter++;
  const email = `invitee${counter}-${Date.now()}@example.org`;
  const env = app.runtime.actionEnv(systemActor("test"));
  const member = await runAction(env, createMemberRecord, { name: `${name} ${counter}`, email });
  return { memberId: member.id, email, name: member.name };
}

/** The links an admin is shown once (no mail server): their paths, in page order. */
export function shownLinks(html: string, base = "http://club.test"): string[] {
  const escaped = base.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const pattern = new RegExp(`<code class="secret-link">${escaped}(/[a-z-]+/[A-Za-z0-9_-]+)</code>`, "g");
  return [...html.matchAll(pattern)].map((m) => m[1]!);
}

/** The token at the end of a link path. */
export const tokenOf = (path: string) => path.split("/").at(-1)!;

/** Posts an admin form of a member's page (with the page's CSRF token). */
export function adminPost(admin: Client, path: string, memberId: string, form: Record<string, string> = {}) {
  return admin.postForm(path, form, `/admin/members/${memberId}`);
}

/** How many rows of any table of the database hold this text anywhere: a clear token must be in none. */
export async function rowsHolding(app: TestApp, text: string): Promise<string[]> {
  const db = app.runtime.database.db;
  const { rows } = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`.execute(db);
  assert.ok(rows.length > 10, "the scan sees the club's tables");
  const found: string[] = [];
  for (const { table_name } of rows) {
    const { rows: hits } = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM ${sql.table(
      table_name,
    )} t WHERE t::text LIKE ${`%${text}%`}`.execute(db);
    if (hits[0]!.n > 0) found.push(table_name);
  }
  return found;
}

/** The audit entries of an action about a subject, oldest first. */
export function auditOf(app: TestApp, action: string, subjectId?: string) {
  let q = app.runtime.database.db
    .selectFrom("audit_log")
    .select(["actor_id", "subject_type", "subject_id", "after"])
    .where("action", "=", action)
    .orderBy("seq");
  if (subjectId) q = q.where("subject_id", "=", subjectId);
  return q.execute();
}

/** Moves a member's links of this kind into the past: they expired a day ago. */
export async function expireLinks(app: TestApp, memberId: string) {
  await sql`UPDATE account_links SET expires_at = now() - interval '1 day'
    WHERE member_id = ${memberId}`.execute(app.runtime.database.db);
}

/** The <main> part of a page (what differs between answers; the chrome is the same). */
export function mainOf(html: string): string {
  return html.match(/<main[^>]*>([\s\S]*)<\/main>/)?.[1] ?? html;
}
