/* bench:pages' published pages (issue 10): one public page and one members-only page, each with several
 * blocks (headings, Markdown text, a call to action, an image), published through the pages actions as an
 * editor would, so each request reads the current published revision, decides its audience and renders
 * its blocks. */
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import {
  addBlock,
  createPage,
  publishPage,
  setAudience,
  updateBlock,
  uploadPageFile,
} from "../../src/domains/pages/pages.actions.ts";
import { findPage } from "../../src/domains/pages/pages.repository.ts";

/** A real 1x1 PNG for the image block (its bytes are not requested: the page's render is measured). */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

const BLOCKS = (marker: string) => [
  { type: "heading", data: { text: "About the regatta", level: 2 } },
  {
    type: "text",
    data: {
      markdown: `${marker}: the **summer regatta** is open to every crew.\n\n- launch from the north slip\n- briefing at *nine*\n- results on [the club site](https://example.org/results)`,
    },
  },
  { type: "heading", data: { text: "Getting there", level: 3 } },
  {
    type: "text",
    data: {
      markdown:
        "Park on the lane behind the boat shed. Trailers go to the lower field; please do not block the gate.",
    },
  },
  { type: "call_to_action", data: { text: "Racing this year?", label: "Enter a crew", href: "/events" } },
];

/** The pages the bench loads: their addresses and the text that proves each is the page meant. */
export interface BenchPages {
  public: { slug: string; expect: string };
  members: { slug: string; expect: string };
}

async function publishedPage(runtime: Runtime, slug: string, marker: string, audience: unknown) {
  const env = runtime.actionEnv(systemActor("bench"));
  const { page } = await runAction(env, createPage, { slug, title: `Regatta (${slug})`, kind: "page" });
  const version = async () => (await findPage(runtime.database.db, page.id))!.version;
  for (const block of BLOCKS(marker)) {
    const added = await runAction(env, addBlock, {
      pageId: page.id,
      version: await version(),
      type: block.type,
    });
    await runAction(env, updateBlock, {
      pageId: page.id,
      version: await version(),
      blockId: added.block.id,
      data: block.data,
    });
  }
  await runAction(env, uploadPageFile, {
    pageId: page.id,
    version: await version(),
    kind: "image",
    fileName: "course.png",
    bytes: PNG,
    maxBytes: 1 << 20,
    text: "The regatta course",
  });
  await runAction(env, setAudience, { pageId: page.id, version: await version(), audience });
  await runAction(env, publishPage, {
    pageId: page.id,
    version: await version(),
    timeZone: runtime.config.timeZone,
  });
}

/** Publishes the public and the members-only page in a migrated, seeded database. */
export async function seedBenchPages(runtime: Runtime): Promise<BenchPages> {
  await publishedPage(runtime, "bench-regatta", "PUBLICREGATTA", { type: "public" });
  await publishedPage(runtime, "bench-members-regatta", "MEMBERSREGATTA", { type: "members" });
  return {
    public: { slug: "bench-regatta", expect: "PUBLICREGATTA" },
    members: { slug: "bench-members-regatta", expect: "MEMBERSREGATTA" },
  };
}
