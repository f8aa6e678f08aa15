import { type ActionEnv, runAction } from "../core/action.ts";
import {
  addBlock,
  createPage,
  publishPage,
  saveDraft,
  setAudience,
  updateBlock,
  updatePageSettings,
} from "../domains/pages/pages.actions.ts";

/** One demo page: its address, kind, title, summary, audience, blocks and place in the menu. */
interface DemoPage {
  slug: string;
  kind: "page" | "news";
  title: string;
  summary: string;
  audience?: unknown;
  nav?: number;
  blocks: { type: string; data: unknown; audience?: unknown }[];
}

const DEMO_PAGES: DemoPage[] = [
  {
    slug: "home",
    kind: "page",
    title: "Welcome to the club",
    summary: "A friendly club for everyone in town.",
    blocks: [
      { type: "text", data: { markdown: "We meet every week at the club house. **Visitors are welcome.**" } },
      { type: "event_list", data: { heading: "Coming up", limit: 5 } },
      { type: "call_to_action", data: { text: "Already a member?", label: "Log in", href: "/login" } },
      { type: "members_note", data: { markdown: "Members: the annual dinner list is open in Events." } },
    ],
  },
  {
    slug: "spring-open-evening",
    kind: "news",
    title: "Spring open evening announced",
    summary: "Our open evening is back: bring a friend.",
    blocks: [{ type: "text", data: { markdown: "Come and meet the club at our spring open evening." } }],
  },
  {
    slug: "members-handbook",
    kind: "page",
    title: "Members' handbook",
    summary: "How the club runs, for members.",
    audience: { type: "members" },
    nav: 10,
    blocks: [
      { type: "heading", data: { text: "Club house keys", level: 2 } },
      { type: "text", data: { markdown: "Keys are kept by the committee; ask a chair." } },
    ],
  },
];

/** Writes and publishes the demo club's pages through the same actions editors use: a public home page,
 * a news post and a members-only page. */
export async function seedDemoPages(env: ActionEnv, timeZone: string): Promise<void> {
  for (const spec of DEMO_PAGES) {
    const { page } = await runAction(env, createPage, {
      slug: spec.slug,
      title: spec.title,
      kind: spec.kind,
    });
    const pageId = page.id;
    let version = (
      await runAction(env, saveDraft, {
        pageId,
        version: page.version,
        title: spec.title,
        summary: spec.summary,
      })
    ).version;
    for (const block of spec.blocks) {
      const added = await runAction(env, addBlock, { pageId, version, type: block.type });
      version = (
        await runAction(env, updateBlock, {
          pageId,
          version: added.page.version,
          blockId: added.block.id,
          data: block.data,
        })
      ).version;
      if (block.audience !== undefined)
        version = (
          await runAction(env, setAudience, {
            pageId,
            version,
            blockId: added.block.id,
            audience: block.audience,
          })
        ).version;
    }
    if (spec.audience !== undefined)
      version = (await runAction(env, setAudience, { pageId, version, audience: spec.audience })).version;
    if (spec.nav !== undefined)
      version = (
        await runAction(env, updatePageSettings, {
          pageId,
          version,
          slug: spec.slug,
          navOrder: spec.nav,
          navParentId: null,
          publishedOn: null,
        })
      ).version;
    await runAction(env, publishPage, { pageId, version, timeZone });
  }
}
