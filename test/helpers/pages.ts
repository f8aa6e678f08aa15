import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";
import { type ActionSpec, runAction } from "../../src/core/action.ts";
import type { Actor } from "../../src/core/actor.ts";
import { capabilitiesOf, type RoleKey } from "../../src/core/capabilities.ts";
import type { Database } from "../../src/core/db/connect.ts";
import {
  addBlock,
  createPage,
  publishPage,
  saveDraft,
  setAudience,
  updateBlock,
  updatePageSettings,
} from "../../src/domains/pages/pages.actions.ts";
import { findPage } from "../../src/domains/pages/pages.repository.ts";
import { createMember } from "./app.ts";
import { Client } from "./http.ts";

/** A member actor holding these roles (no member row needed for actions that only audit who acted). */
export function actorWith(roles: RoleKey[], memberId: string = randomUUID()): Actor {
  return {
    type: "member",
    memberId,
    name: `Test ${roles.join("+")}`,
    capabilities: new Set(capabilitiesOf(roles)),
  };
}

export const editor = () => actorWith(["member", "web_editor"]);
export const publisher = () => actorWith(["member", "full_admin"]);

/** Runs an action as this actor on this database. */
export function act<I, O>(database: Database, actor: Actor, spec: ActionSpec<I, O>, input: I): Promise<O> {
  return runAction({ database, actor, clubName: "Test Club" }, spec, input);
}

let seq = 0;
/** A slug no other test uses. */
export const uniqueSlug = (prefix = "page") => `${prefix}-${Date.now().toString(36)}-${++seq}`;

/** The page's version now (what a fresh form would carry). */
export async function versionOf(database: Database, pageId: string): Promise<number> {
  return (await findPage(database.db, pageId))!.version;
}

/** One block of a page to make: its type, data and optional audience. */
export interface BlockSpec {
  type: string;
  data: unknown;
  audience?: unknown;
}

/** Creates a page with these blocks (and audience), published unless told otherwise. */
export async function makePage(
  database: Database,
  spec: {
    slug?: string;
    title?: string;
    kind?: "page" | "news";
    summary?: string;
    audience?: unknown;
    blocks?: BlockSpec[];
    publish?: boolean;
    /** Its place in the navigation (absent: not in it). */
    nav?: number;
  } = {},
) {
  const by = publisher();
  const { page } = await act(database, by, createPage, {
    slug: spec.slug ?? uniqueSlug(),
    title: spec.title ?? "A page",
    kind: spec.kind ?? "page",
  });
  const v = () => versionOf(database, page.id);
  if (spec.summary !== undefined)
    await act(database, by, saveDraft, {
      pageId: page.id,
      version: await v(),
      title: spec.title ?? "A page",
      summary: spec.summary,
    });
  if (spec.nav !== undefined)
    await act(database, by, updatePageSettings, {
      pageId: page.id,
      version: await v(),
      slug: page.slug,
      navOrder: spec.nav,
      navParentId: null,
      publishedOn: null,
    });
  for (const block of spec.blocks ?? []) {
    const added = await act(database, by, addBlock, {
      pageId: page.id,
      version: await v(),
      type: block.type,
    });
    await act(database, by, updateBlock, {
      pageId: page.id,
      version: await v(),
      blockId: added.block.id,
      data: block.data,
    });
    if (block.audience !== undefined)
      await act(database, by, setAudience, {
        pageId: page.id,
        version: await v(),
        blockId: added.block.id,
        audience: block.audience,
      });
  }
  if (spec.audience !== undefined)
    await act(database, by, setAudience, { pageId: page.id, version: await v(), audience: spec.audience });
  if (spec.publish !== false)
    await act(database, by, publishPage, { pageId: page.id, version: await v(), timeZone: "Europe/London" });
  return (await findPage(database.db, page.id))!;
}

/** What the property and audience tests know about each sample viewer, written out independently of
 * the application's evaluator. */
export interface SampleViewer {
  client: Client;
  signedIn: boolean;
  status?: string;
  tier?: string;
  committees: string[];
  roles: string[];
}

/** One signed-in browser (or an anonymous one) per audience class: a plain active member, a family-tier
 * member, a member of the Garden committee, a web editor and a suspended member. */
export async function sampleViewers(
  runtime: Runtime,
  baseUrl: string,
): Promise<{ viewers: Record<string, SampleViewer>; committeeId: string }> {
  const db = runtime.database.db;
  const committee = await sql<{ id: string }>`INSERT INTO committees (name)
    VALUES (${`Garden ${uniqueSlug()}`}) RETURNING id`.execute(db);
  const committeeId = committee.rows[0]!.id;
  const viewers: Record<string, SampleViewer> = {
    anonymous: { client: new Client(baseUrl), signedIn: false, committees: [], roles: [] },
  };
  const login = async (
    name: string,
    roles: RoleKey[],
    facts: { status?: string; tier?: string; committee?: boolean } = {},
  ) => {
    const m = await createMember(runtime, roles, name);
    if (facts.tier)
      await sql`UPDATE members SET tier_key = ${facts.tier} WHERE id = ${m.memberId}`.execute(db);
    if (facts.status)
      await sql`UPDATE members SET status = ${facts.status} WHERE id = ${m.memberId}`.execute(db);
    if (facts.committee)
      await sql`INSERT INTO committee_memberships (committee_id, member_id, role, granted_by)
        VALUES (${committeeId}, ${m.memberId}, 'member', 'system:test')`.execute(db);
    const client = new Client(baseUrl);
    const res = await client.login(m.email, m.password);
    if (res.status !== 303) throw new Error(`${name} could not log in`);
    viewers[name] = {
      client,
      signedIn: true,
      status: facts.status ?? "active",
      tier: facts.tier,
      committees: facts.committee ? [committeeId] : [],
      // Only an active member holds roles (identity's rule), so a suspended one holds none.
      roles: (facts.status ?? "active") === "active" ? roles : [],
    };
  };
  await login("member", ["member"]);
  await login("family", ["member"], { tier: "family" });
  await login("gardener", ["member"], { committee: true });
  await login("editor", ["member", "web_editor"]);
  await login("suspended", ["member"], { status: "suspended" });
  return { viewers, committeeId };
}
