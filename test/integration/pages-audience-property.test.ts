import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, test } from "node:test";
import fc from "fast-check";
import { STATUSES_WITH_MEMBER_RIGHTS } from "../../src/domains/members/member-status.ts";
import { suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { makePage, type SampleViewer, sampleViewers, uniqueSlug } from "../helpers/pages.ts";

/* Property (G08): for random pages, block audiences and the sample viewers of every audience class, a
 * unique marker from each page and block appears in what a viewer is served (the page itself, the site
 * navigation, the Atom feed, sitemap.xml, site search and the JSON API's page, page list and news) if and
 * only if the rules admit that viewer. The oracle below is written from the rules'
 * definition, not from the application's evaluator. */

type Leaf =
  | { type: "public" }
  | { type: "members" }
  | { type: "statuses"; statuses: string[] }
  | { type: "tiers"; tiers: string[] }
  | { type: "committees"; committees: string[] }
  | { type: "roles"; roles: string[] };
type Rule = Leaf | { type: "any_of"; rules: Leaf[] };

function admits(rule: Rule, v: SampleViewer): boolean {
  if (rule.type === "any_of") return rule.rules.some((r) => admits(r, v));
  if (rule.type === "public") return true;
  if (!v.signedIn) return false;
  // Signed in is not enough: only a status with the member rights (members' one definition).
  if (rule.type === "members") return (STATUSES_WITH_MEMBER_RIGHTS as readonly string[]).includes(v.status!);
  if (rule.type === "statuses") return rule.statuses.includes(v.status!);
  if (rule.type === "tiers") return v.tier !== undefined && rule.tiers.includes(v.tier);
  if (rule.type === "committees") return rule.committees.some((c) => v.committees.includes(c));
  return rule.roles.some((r) => v.roles.includes(r));
}

const subset = <T>(items: T[]) =>
  fc.uniqueArray(fc.constantFrom(...items), { minLength: 1, maxLength: items.length });

function ruleArb(committeeId: string): fc.Arbitrary<Rule> {
  // Public and members-only weigh more: the pages everyone may open are where a leak would show.
  const leaf: fc.Arbitrary<Leaf> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ type: "public" as const }) },
    { weight: 2, arbitrary: fc.constant({ type: "members" as const }) },
    {
      weight: 1,
      arbitrary: subset(["active", "suspended", "lapsed"]).map((statuses) => ({
        type: "statuses" as const,
        statuses,
      })),
    },
    {
      weight: 1,
      arbitrary: subset(["standard", "family", "honorary"]).map((tiers) => ({
        type: "tiers" as const,
        tiers,
      })),
    },
    {
      weight: 1,
      arbitrary: subset([committeeId, "00000000-0000-4000-8000-000000000000"]).map((committees) => ({
        type: "committees" as const,
        committees,
      })),
    },
    {
      weight: 1,
      arbitrary: subset(["web_editor", "full_admin", "events_chair"]).map((roles) => ({
        type: "roles" as const,
        roles,
      })),
    },
  );
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc
        .array(leaf, { minLength: 1, maxLength: 3 })
        .map((rules) => ({ type: "any_of" as const, rules })),
    },
  );
}

const BLOCK_TYPES = ["text", "heading", "members_note", "call_to_action"] as const;
type BlockType = (typeof BLOCK_TYPES)[number];

/** The block's data carrying its marker, in a field its type renders. */
function blockData(type: BlockType, marker: string): unknown {
  if (type === "heading") return { text: `Heading ${marker}`, level: 2 };
  if (type === "call_to_action") return { label: `Go ${marker}`, href: "/events" };
  return { markdown: `Text ${marker}` };
}

forEachEngine(
  "[G08] property: a marker is served if and only if the audience rules admit the viewer",
  (engine) => {
    const t = suiteApp(engine);
    let viewers: Record<string, SampleViewer> = {};
    let committeeId = "";

    before(async () => {
      ({ viewers, committeeId } = await sampleViewers(t.get().runtime, t.get().baseUrl));
    });

    test("random pages, blocks and audiences against every sample viewer: page, navigation, feed, sitemap, search, JSON API", async () => {
      const pageArb = fc.record({
        audience: ruleArb(committeeId),
        kind: fc.constantFrom("page" as const, "news" as const),
        inNav: fc.boolean(),
        blocks: fc.array(
          fc.record({
            type: fc.constantFrom(...BLOCK_TYPES),
            audience: fc.option(ruleArb(committeeId), { nil: undefined, freq: 2 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(pageArb, { minLength: 1, maxLength: 3 }), async (specs) => {
          const made: {
            spec: (typeof specs)[number];
            page: { slug: string };
            titleMarker: string;
            blocks: { type: BlockType; audience?: Rule; marker: string }[];
          }[] = [];
          for (const spec of specs) {
            const mark = () => `m${randomBytes(6).toString("hex")}`;
            const titleMarker = mark();
            const blocks = spec.blocks.map((b) => ({ ...b, marker: mark() }));
            const page = await makePage(t.get().runtime.database, {
              slug: uniqueSlug("prop"),
              title: `Title ${titleMarker}`,
              kind: spec.kind,
              audience: spec.audience,
              nav: spec.inNav ? 5 : undefined,
              blocks: blocks.map((b) => ({
                type: b.type,
                data: blockData(b.type, b.marker),
                audience: b.audience,
              })),
            });
            made.push({ spec, page, titleMarker, blocks });
          }
          for (const [who, viewer] of Object.entries(viewers)) {
            const missing = await viewer.client.get(`/p/${uniqueSlug("absent")}`);
            const home = await viewer.client.get("/");
            const feed = (await viewer.client.get("/news.atom")).text;
            const sitemap = (await viewer.client.get("/sitemap.xml")).text;
            const apiMissing = await viewer.client.get(`/api/v1/pages/${uniqueSlug("absent")}`);
            const apiList = (await viewer.client.get("/api/v1/pages")).text;
            const apiNews = (await viewer.client.get("/api/v1/news")).text;
            const search = async (marker: string) =>
              /<ol class="search-results">([\s\S]*?)<\/ol>/.exec(
                (await viewer.client.get(`/search?q=${marker}`)).text,
              )?.[1] ?? "";
            for (const m of made) {
              const visible = admits(m.spec.audience, viewer);
              const res = await viewer.client.get(`/p/${m.page.slug}`);
              const where = `${who} on ${JSON.stringify(m.spec)}`;
              assert.equal(res.status, visible ? 200 : 404, where);
              if (!visible) assert.equal(res.text, missing.text, `${where}: as a missing page`);
              assert.equal(res.text.includes(m.titleMarker), visible, `${where}: title`);
              const api = await viewer.client.get(`/api/v1/pages/${m.page.slug}`);
              assert.equal(api.status, visible ? 200 : 404, `${where}: JSON API`);
              if (!visible) assert.equal(api.text, apiMissing.text, `${where}: JSON API, as a missing page`);
              assert.equal(api.text.includes(m.titleMarker), visible, `${where}: JSON API title`);
              assert.equal(apiList.includes(m.titleMarker), visible, `${where}: JSON API page list`);
              assert.equal(
                apiList.includes(`"${m.page.slug}"`),
                visible,
                `${where}: JSON API page list slug`,
              );
              assert.equal(
                apiNews.includes(m.titleMarker),
                visible && m.spec.kind === "news",
                `${where}: JSON API news`,
              );
              for (const b of m.blocks) {
                const blockVisible =
                  visible &&
                  (b.audience === undefined || admits(b.audience, viewer)) &&
                  (b.type !== "members_note" || admits({ type: "members" }, viewer));
                assert.equal(
                  res.text.includes(b.marker),
                  blockVisible,
                  `${where}: block ${JSON.stringify(b)}`,
                );
                assert.equal(
                  api.text.includes(b.marker),
                  blockVisible,
                  `${where}: JSON API block ${b.marker}`,
                );
                // Listings summarise from the blocks this viewer may see (no summary is written here).
                assert.equal(apiList.includes(b.marker), blockVisible, `${where}: JSON API list summary`);
                assert.ok(!home.text.includes(b.marker), "blocks never reach the navigation");
                // A post without a summary is summarised from the blocks this reader may see (all fit).
                assert.equal(
                  feed.includes(b.marker),
                  blockVisible && m.spec.kind === "news",
                  `${where}: feed, block ${JSON.stringify(b)}`,
                );
                assert.ok(!sitemap.includes(b.marker), "blocks never reach the sitemap");
                const found = await search(b.marker);
                assert.equal(
                  found.includes(`/p/${m.page.slug}"`),
                  blockVisible,
                  `${where}: search hit by block ${b.marker}`,
                );
                assert.equal(
                  found.includes(b.marker),
                  blockVisible,
                  `${where}: search summary, block ${b.marker}`,
                );
              }
              assert.equal(feed.includes(m.titleMarker), visible && m.spec.kind === "news", `${where}: feed`);
              // The sitemap is the same for everyone: public pages only.
              assert.equal(
                sitemap.includes(`/p/${m.page.slug}<`),
                admits(m.spec.audience, viewers.anonymous!),
                `${where}: sitemap`,
              );
              const byTitle = await search(m.titleMarker);
              assert.equal(byTitle.includes(`/p/${m.page.slug}"`), visible, `${where}: search by title`);
              assert.equal(byTitle.includes(m.titleMarker), visible, `${where}: search result title`);
              assert.equal(
                home.text.includes(m.titleMarker),
                visible && m.spec.inNav,
                `${where}: navigation`,
              );
            }
          }
        }),
        { numRuns: 15, endOnFailure: true },
      );
    });
  },
);
