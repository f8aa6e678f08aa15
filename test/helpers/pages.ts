import { randomUUID } from "node:crypto";
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
  return runAction({ database, actor }, spec, input);
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
