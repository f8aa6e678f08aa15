import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { type ActionEnv, runAction } from "../core/action.ts";
import { type Actor, anonymousActor } from "../core/actor.ts";
import { capabilitiesOf } from "../core/capabilities.ts";
import type { JobContext } from "../core/scheduler.ts";
import { seesMembersOnlyEvents } from "../domains/events/events.policies.ts";
import { allEventTitles, listVisibleEventSummaries } from "../domains/events/events.repository.ts";
import { activeRoleKeys } from "../domains/identity/identity.repository.ts";
import { ANONYMOUS, audienceAllows, blockAllows, type Viewer } from "../domains/pages/audience.ts";
import { type LeakFinding, type LeakReport, recordLeakAudit } from "../domains/pages/leak-audit.actions.ts";
import { blockText, fileOfBlock } from "../domains/pages/page-content.ts";
import { everyRevisionWithFiles, filesOfRevision } from "../domains/pages/page-files.repository.ts";
import {
  allDrafts,
  allPublishedPages,
  sampleMemberIds,
  viewerOf,
} from "../domains/pages/pages.repository.ts";
import { HOME_SLUG } from "../domains/pages/pages.routes.tsx";
import type { Config } from "./config.ts";
import type { AppContext } from "./context.ts";
import { buildServer } from "./server.ts";

/* The leak audit (G08): the published site rendered through the app's real routes (Fastify inject on an
 * app built for the audit, never listening) as an anonymous visitor and as a sample member of every
 * audience class the club has, and each response compared with what the one audience evaluator says that
 * viewer may see. Anything the rules exclude that shows up anyway is a finding: a hidden page answered
 * otherwise than a missing one (in HTML and in the JSON API), its title or link listed, a hidden block's
 * words on any surface, a page file served to a viewer its page or block excludes, an event hidden from
 * the viewer listed (event-list blocks), the words of an unpublished draft anywhere, a restricted
 * response marked for shared caches, a preview (page or file, G09) opened by a viewer without
 * pages:preview or through a share link nobody was given, or a preview answer without its headers. */

/** The header the audit's own app reads to know which sample member asks. Only the app built here reads
 * it: the served app authenticates by session and token alone. */
const AUDIT_VIEWER = "x-clubos-leak-audit-viewer";

/** The shortest text worth looking for: shorter words appear everywhere by chance. */
const MIN_MARK = 8;

/** The most distinctive plain run of a text (letters, digits and spaces), as every surface writes it
 * whatever its escaping or markup; null when too short to look for. */
export function markOf(text: string): string | null {
  const runs = text.match(/[A-Za-z0-9]+(?:[ \t]+[A-Za-z0-9]+)*/g) ?? [];
  const best = runs.map((r) => r.replace(/\s+/g, " ")).sort((a, b) => b.length - a.length)[0];
  return best && best.length >= MIN_MARK ? best : null;
}

const flat = (text: string) => text.replace(/\s+/g, " ");
const pathOf = (slug: string) => (slug === HOME_SLUG ? "/" : `/p/${slug}`);
const apiPathOf = (slug: string) => `/api/v1/pages/${slug}`;
/** The surfaces that list published content, whatever the pages: HTML, feeds and the JSON API. */
const LISTINGS = ["/news", "/news.atom", "/sitemap.xml", "/search", "/api/v1/pages", "/api/v1/news"];
const linksTo = (body: string, slug: string) =>
  slug !== HOME_SLUG && new RegExp(`/p/${slug}(?=["'<#?\\s])`).test(body);

interface SampleViewer {
  label: string;
  memberId: string | null;
  viewer: Viewer;
}

interface Served {
  surface: string;
  status: number;
  body: string;
  cacheControl: string;
  robots: string;
}

/** Builds the app the audit renders with: the real routes; who asks comes from the audit's header. */
function auditApp(
  ctx: AppContext,
  actors: Map<string, Actor>,
  build = buildServer,
): Promise<FastifyInstance> {
  return build({
    ...ctx,
    authenticate: async (request) => {
      const id = request.headers[AUDIT_VIEWER];
      const actor = typeof id === "string" ? actors.get(id) : undefined;
      return actor ? { actor, via: "session" } : { actor: anonymousActor, via: null };
    },
  });
}

/** Renders, compares, and returns the findings; records nothing. `build` is the app builder (tests give
 * one that plants a leak). */
export async function runLeakAudit(
  ctx: AppContext,
  options: { build?: (ctx: AppContext) => Promise<FastifyInstance> } = {},
): Promise<LeakReport> {
  const db = ctx.database.db;
  const samples: SampleViewer[] = [{ label: "anonymous", memberId: null, viewer: ANONYMOUS }];
  const actors = new Map<string, Actor>();
  // One sign-in per member, named after every class it stands for ("role member, status active").
  const classes = new Map<string, string[]>();
  for (const s of await sampleMemberIds(db))
    classes.set(s.memberId, [...(classes.get(s.memberId) ?? []), s.label]);
  for (const [memberId, labels] of classes) {
    const label = labels.join(", ");
    const actor: Actor = {
      type: "member",
      memberId,
      name: `Leak audit (${label})`,
      capabilities: new Set(capabilitiesOf(await activeRoleKeys(db, memberId))),
    };
    actors.set(memberId, actor);
    samples.push({ label, memberId, viewer: await viewerOf(db, actor) });
  }
  const pages = await allPublishedPages(db);
  const files = new Map<string, string[]>();
  for (const page of pages)
    files.set(
      page.id,
      (await filesOfRevision(db, page.revision_id)).map((f) => f.sha256),
    );
  const events = await allEventTitles(db);
  // A draft's words are a leak wherever they show, unless published content says the same (a new draft
  // starts as a copy of what is published); a page with nothing published is answered as missing.
  const published = flat(
    [
      ctx.config.clubName,
      ...pages.flatMap((p) => [p.title, p.summary, ...p.blocks.map(blockText)]),
      ...events.map((e) => e.title),
    ].join("\n"),
  );
  const drafts = await allDrafts(db);
  const draftMarks = drafts.flatMap((d) =>
    [d.title, d.summary, ...d.blocks.map(blockText)]
      .map(markOf)
      .filter((mark): mark is string => mark !== null && !published.includes(mark))
      .map((mark) => ({
        subject: `draft ${d.number} of ${d.slug}`,
        mark,
        problem: "the words of a draft are shown",
      })),
  );
  const unpublished = drafts.filter((d) => !d.published).map((d) => d.slug);
  const revisions = await everyRevisionWithFiles(db);
  // Previews turn on one capability, not on audiences: one viewer without it of each kind is enough.
  const previewChecked = new Set<string>();
  const app = await auditApp(ctx, actors, options.build);
  const findings: LeakFinding[] = [];
  let responses = 0;
  const anonymousBodies = new Map<string, string>();
  try {
    for (const sample of samples) {
      const get = async (surface: string): Promise<Served> => {
        const res = await app.inject({
          method: "GET",
          url: surface,
          headers: sample.memberId ? { [AUDIT_VIEWER]: sample.memberId } : {},
        });
        responses++;
        return {
          surface,
          status: res.statusCode,
          body: res.body,
          cacheControl: String(res.headers["cache-control"] ?? ""),
          robots: String(res.headers["x-robots-tag"] ?? ""),
        };
      };
      const found = (served: Served, subject: string, problem: string) =>
        findings.push({ viewer: sample.label, surface: served.surface, subject, problem });

      // What this viewer may see, by the one evaluator; and the marks of what they may not.
      const visibleText: string[] = [ctx.config.clubName];
      const hidden: { subject: string; mark: string; problem: string }[] = [...draftMarks];
      const hiddenPages: string[] = [...unpublished];
      const hiddenTitles = new Map<string, string>();
      for (const page of pages) {
        const pageShown = audienceAllows(page.audience, sample.viewer);
        if (pageShown) visibleText.push(page.title, page.summary);
        else hiddenPages.push(page.slug);
        const titleMark = markOf(page.title);
        if (!pageShown && titleMark) {
          hidden.push({
            subject: page.slug,
            mark: titleMark,
            problem: "the title of a hidden page is shown",
          });
          hiddenTitles.set(titleMark, page.slug);
        }
        for (const block of page.blocks) {
          const shown = pageShown && blockAllows(block, sample.viewer);
          if (shown) {
            visibleText.push(blockText(block));
            continue;
          }
          const mark = markOf(blockText(block));
          if (mark)
            hidden.push({
              subject: `${page.slug}#${block.position}`,
              mark,
              problem: "the words of a hidden block are shown",
            });
        }
      }
      // Events as the events domain shows them to this viewer (what an event-list block may list).
      const shownEvents = new Set(
        (
          await listVisibleEventSummaries(
            db,
            seesMembersOnlyEvents(
              sample.memberId ? (actors.get(sample.memberId) ?? anonymousActor) : anonymousActor,
            ),
          )
        ).map((e) => e.id),
      );
      for (const event of events) {
        if (shownEvents.has(event.id)) visibleText.push(event.title);
        else {
          const mark = markOf(event.title);
          if (mark) hidden.push({ subject: `event ${event.id}`, mark, problem: "a hidden event is listed" });
        }
      }
      const allowed = flat(visibleText.join("\n"));
      // A mark the viewer may also read elsewhere (the same words on a page they may see) proves nothing.
      const marks = hidden.filter((h) => !allowed.includes(h.mark));

      const check = (served: Served, part = served.body) => {
        const text = flat(part);
        for (const h of marks) if (text.includes(h.mark)) found(served, h.subject, h.problem);
        const api = served.surface.startsWith("/api/");
        for (const slug of hiddenPages)
          if (linksTo(part, slug) || (api && part.includes(`"${slug}"`)))
            found(served, slug, "a link to a hidden page is listed");
        // what a signed-in viewer gets may be kept by a shared cache only if it is what everyone gets.
        if (sample.memberId && /\bpublic\b/.test(served.cacheControl)) {
          const everyone = anonymousBodies.get(served.surface);
          if (everyone !== served.body)
            found(served, served.surface, "a personal response is marked for shared caches");
        }
        if (!sample.memberId) anonymousBodies.set(served.surface, served.body);
      };

      const absent = `leak-audit-${randomBytes(6).toString("hex")}`;
      const missing = await get(pathOf(absent));
      const missingApi = await get(apiPathOf(absent));
      const missingFile = await get(`${pathOf(absent)}/files/${"0".repeat(64)}`);
      const asMissing = (served: Served, like: Served, subject: string, what: string) => {
        if (served.status !== 404 || served.body !== like.body)
          found(served, subject, `${what} answers ${served.status}, not exactly as a missing one`);
      };
      for (const page of pages) {
        const shown = audienceAllows(page.audience, sample.viewer);
        const served = await get(pathOf(page.slug));
        if (!shown && page.slug !== HOME_SLUG) asMissing(served, missing, page.slug, "a hidden page");
        check(served);
        const json = await get(apiPathOf(page.slug));
        if (!shown) asMissing(json, missingApi, page.slug, "a hidden page (JSON API)");
        check(json);
        // Each file of the page, by its direct address: only through a block this viewer may see.
        for (const sha256 of files.get(page.id) ?? []) {
          const file = await get(`${pathOf(page.slug)}/files/${sha256}`);
          const fileShown =
            shown && page.blocks.some((b) => fileOfBlock(b) === sha256 && blockAllows(b, sample.viewer));
          if (!fileShown) asMissing(file, missingFile, `${page.slug}/files/${sha256}`, "a hidden file");
          check(file, "");
        }
      }
      // A page with nothing published is missing on every surface, whatever its draft holds.
      for (const slug of unpublished) {
        asMissing(await get(pathOf(slug)), missing, slug, "an unpublished page");
        asMissing(await get(apiPathOf(slug)), missingApi, slug, "an unpublished page (JSON API)");
      }
      for (const surface of LISTINGS) check(await get(surface));
      const kind = sample.memberId ? "member" : "anonymous";
      const mayPreview = sample.memberId
        ? actors.get(sample.memberId)?.capabilities.has("pages:preview")
        : false;
      if (!mayPreview && !previewChecked.has(kind)) {
        previewChecked.add(kind);
        for (const served of await previewSurfaces(get, revisions)) {
          if (served.status < 400)
            found(served, served.surface, "a preview is shown to a viewer who may not preview");
          if (!/\bno-store\b/.test(served.cacheControl) || !/\bnoindex\b/.test(served.robots))
            found(served, served.surface, "a preview answer lacks its no-store and noindex headers");
          check(served);
        }
      }
      // The sitemap is for everyone: only what an anonymous visitor may see belongs in it.
      const sitemap = await get("/sitemap.xml");
      for (const page of pages)
        if (!audienceAllows(page.audience, ANONYMOUS) && linksTo(sitemap.body, page.slug))
          found(sitemap, page.slug, "a page that is not public is in the sitemap");
      // Search for each hidden thing's own words: the results (not the echoed question) must not show it.
      for (const h of marks) {
        const served = await get(`/search?q=${encodeURIComponent(h.mark.slice(0, 200))}`);
        const results = /<ol class="search-results">([\s\S]*?)<\/ol>/.exec(served.body)?.[1] ?? "";
        check(served, results);
        const slug = hiddenTitles.get(h.mark);
        if (slug && linksTo(results, slug)) found(served, slug, "search finds a hidden page");
      }
    }
  } finally {
    await app.close();
  }
  const unique = new Map(findings.map((f) => [`${f.viewer}|${f.surface}|${f.subject}|${f.problem}`, f]));
  const list = [...unique.values()];
  return { ok: list.length === 0, viewers: samples.map((s) => s.label), responses, findings: list };
}

/** Every preview address (G09), for a viewer who may not preview: each page's draft, each revision and
 * each of its files in an editor's preview, and the share-link page and files through a token nobody was
 * given (of the right form, so it reaches the link's check rather than the schema's). */
async function previewSurfaces(
  get: (surface: string) => Promise<Served>,
  revisions: { page_id: string; number: number; files: string[] }[],
): Promise<Served[]> {
  const token = `pv_${randomBytes(32).toString("base64url")}`;
  const surfaces = [`/preview/link/${token}`];
  for (const pageId of new Set(revisions.map((r) => r.page_id))) surfaces.push(`/preview/pages/${pageId}`);
  for (const r of revisions) {
    const at = `/preview/pages/${r.page_id}/revisions/${r.number}`;
    surfaces.push(at, ...r.files.map((f) => `${at}/files/${f}`));
  }
  for (const f of new Set(revisions.flatMap((r) => r.files)))
    surfaces.push(`/preview/link/${token}/files/${f}`);
  const served: Served[] = [];
  for (const surface of surfaces) served.push(await get(surface));
  return served;
}

/** Runs the audit and records the run (alert, incident and gauge on a finding): the one way the CLI and
 * the scheduled job audit. */
export async function auditAndRecord(
  ctx: AppContext,
  env: ActionEnv,
  options: { build?: (ctx: AppContext) => Promise<FastifyInstance> } = {},
): Promise<{ report: LeakReport; incidentNumber: number | null }> {
  const report = await runLeakAudit(ctx, options);
  const { incidentNumber } = await runAction(env, recordLeakAudit, { report });
  return { report, incidentNumber };
}

/** The AppContext a job is given by `clubos serve` and `clubos jobs run` (both pass the runtime). */
export function appContextOf(ctx: JobContext<Config>): AppContext {
  if (!("authenticate" in ctx) || !("modes" in ctx))
    throw new Error("the leak audit needs the app's runtime");
  return ctx as AppContext;
}
