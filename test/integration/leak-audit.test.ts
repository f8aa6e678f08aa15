import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { type TSchema, Type } from "typebox";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import { findJob } from "../../src/app/jobs.ts";
import { auditAndRecord, runLeakAudit } from "../../src/app/leak-audit.ts";
import { ROUTE_MODULES } from "../../src/app/server.ts";
import { systemActor } from "../../src/core/actor.ts";
import { listVisibleEventSummaries } from "../../src/domains/events/events.repository.ts";
import { blockText } from "../../src/domains/pages/page-content.ts";
import { pageFileRoutes } from "../../src/domains/pages/page-files.routes.tsx";
import { publishPage, saveDraft, startDraft, uploadPageFile } from "../../src/domains/pages/pages.actions.ts";
import { pageApiRoutes } from "../../src/domains/pages/pages.api.ts";
import { pageFeedRoutes } from "../../src/domains/pages/pages.feeds.routes.tsx";
import {
  findPublishedPage,
  listPagesForEditor,
  publishedNewsWithBlocks,
  publishedPageList,
} from "../../src/domains/pages/pages.repository.ts";
import { pageRoutes } from "../../src/domains/pages/pages.routes.tsx";
import { SLUG_PARAMS } from "../../src/domains/pages/pages.schemas.ts";
import { previewRoutes } from "../../src/domains/pages/preview.routes.tsx";
import { READ } from "../../src/http/declarations.ts";
import { declareRoute } from "../../src/http/routes.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { publishedEvent } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";
import { act, makePage, publisher, uniqueSlug, versionOf } from "../helpers/pages.ts";

type Suite = ReturnType<typeof suiteApp>;

/** Runs a clubos verb against the suite's runtime, collecting what it prints. */
async function clubos(t: Suite, ...argv: string[]) {
  const lines: string[] = [];
  const env: CliEnv = {
    io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: () => {} },
    config: t.get().config,
    withRuntime: (fn) => fn(t.get().runtime),
  };
  const code = await runCli(argv, env);
  return { code, output: lines.join("\n") };
}

/** The sitemap as a route that forgot the audience decision: every published page, whoever may see it. */
function leakySitemap(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/sitemap.xml",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "planted leak: a sitemap that bypasses the audience evaluator",
    handler: async (request, reply) => {
      const pages = await publishedPageList(request.server.ctx.database.db);
      return reply
        .type("application/xml")
        .send(`<urlset>${pages.map((p) => `<url><loc>/p/${p.slug}</loc></url>`).join("")}</urlset>`);
    },
  });
}

/** The feed as a route that summarises every block, forgetting the block decision. */
function leakyFeed(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/news.atom",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "planted leak: a feed whose summaries skip the block audience decision",
    handler: async (request, reply) => {
      const posts = await publishedNewsWithBlocks(request.server.ctx.database.db);
      const entries = posts.map(
        (p) => `<entry><summary>${p.blocks.map(blockText).join(" ")}</summary></entry>`,
      );
      return reply.type("application/atom+xml").send(`<feed>${entries.join("")}</feed>`);
    },
  });
}

/** Page files as a route that forgot both audience decisions: any address under a page answers 200. */
function leakyFiles(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/p/:slug/files/:hash",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "planted leak: page files served without the page's or the block's audience decision",
    schema: { params: Type.Object({ slug: Type.String(), hash: Type.String() }) },
    handler: async (_request, reply) => reply.type("image/png").send(Buffer.from("leaked bytes")),
  });
}

type Handler = Parameters<typeof declareRoute>[1]["handler"];

/** A planted leak: a public GET route that skips whatever check its real one makes. */
function plant(app: FastifyInstance, url: string, summary: string, handler: Handler, params?: TSchema): void {
  declareRoute(app, {
    method: "GET",
    url,
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: `planted leak: ${summary}`,
    ...(params ? { schema: { params } } : {}),
    handler,
  });
}

/** The JSON API as routes that skip the audience evaluator and read drafts: every page by its latest
 * title (a draft's included), every block of a published page. */
function leakyApi(app: FastifyInstance): void {
  const json = (summary: string, url: string, handler: Handler) =>
    plant(app, url, summary, handler, url.includes(":slug") ? SLUG_PARAMS : undefined);
  json("a page list with drafts", "/api/v1/pages", async (request, reply) => {
    const pages = await listPagesForEditor(request.server.ctx.database.db);
    return reply
      .type("application/json")
      .send(JSON.stringify({ pages: pages.map((p) => ({ slug: p.slug, title: p.title })) }));
  });
  json("a page with every block", "/api/v1/pages/:slug", async (request, reply) => {
    const slug = (request.params as { slug: string }).slug;
    const page = await findPublishedPage(request.server.ctx.database.db, slug);
    if (!page) return reply.code(404).send("{}");
    return reply
      .type("application/json")
      .send(JSON.stringify({ title: page.title, blocks: page.blocks.map(blockText) }));
  });
}

/** The published page as a route whose event list forgets who may see an event. */
function leakyEventList(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/p/:slug",
    capability: "public",
    loadClass: "public",
    response: "html",
    degraded: READ,
    summary: "planted leak: an event list with members-only events for everyone",
    schema: { params: SLUG_PARAMS },
    handler: async (request, reply) => {
      const db = request.server.ctx.database.db;
      const page = await findPublishedPage(db, (request.params as { slug: string }).slug);
      if (!page) return reply.code(404).send("none");
      const events = await listVisibleEventSummaries(db, true);
      return reply.type("text/html").send(`<ul>${events.map((e) => `<li>${e.title}</li>`).join("")}</ul>`);
    },
  });
}

/** Previews as routes that forgot pages:preview and the share link's check: any revision, its draft words
 * and its files for anyone, without the preview headers. */
function leakyPreviews(app: FastifyInstance): void {
  const params = Type.Object({
    id: Type.String(),
    number: Type.String(),
    hash: Type.Optional(Type.String()),
  });
  const open = (url: string, handler: Handler) => plant(app, url, "a preview for anyone", handler, params);
  open("/preview/pages/:id/revisions/:number", async (request, reply) => {
    const { id } = request.params as { id: string };
    const drafts = await listPagesForEditor(request.server.ctx.database.db);
    const page = drafts.find((p) => p.id === id);
    return reply.type("text/html").send(`<h1>${page?.title ?? ""}</h1>`);
  });
  open("/preview/pages/:id/revisions/:number/files/:hash", async (_request, reply) =>
    reply.type("image/png").send(Buffer.from("leaked bytes")),
  );
}

/** Runs fn with one of the site's route modules (by default the feeds) replaced by a leaky one (that
 * module's other surfaces then 404). */
async function withPlantedLeak<T>(
  fn: () => Promise<T>,
  leaky = leakySitemap,
  replaced: (typeof ROUTE_MODULES)[number] = pageFeedRoutes,
): Promise<T> {
  const at = ROUTE_MODULES.indexOf(replaced);
  assert.ok(at >= 0);
  ROUTE_MODULES[at] = leaky;
  try {
    return await fn();
  } finally {
    ROUTE_MODULES[at] = replaced;
  }
}

type Finding = { viewer: string; surface: string; subject: string; problem: string };
const has = (findings: Finding[], want: (f: Finding) => boolean) =>
  assert.ok(findings.some(want), JSON.stringify(findings, null, 1));

async function metric(t: Suite): Promise<string | undefined> {
  const text = await (await fetch(`${t.get().baseUrl}/metrics`)).text();
  return /^clubos_pages_leak_findings (\S+)$/m.exec(text)?.[1];
}

forEachEngine("[G08] the publishing leak audit", (engine) => {
  const t = suiteApp(engine);

  test("[G08] the leak audit is clean on the demo club, records its run, and /metrics and /admin/system show it", async () => {
    const { seedDemoClub } = await import("../../src/app/demo.ts");
    assert.ok(await seedDemoClub(t.get().runtime));
    const run = await clubos(t, "pages", "leak-audit", "--json");
    assert.equal(run.code, 0, run.output);
    const report = JSON.parse(run.output);
    assert.equal(report.ok, true);
    assert.deepEqual(report.findings, []);
    assert.ok(report.viewers.includes("anonymous"));
    assert.ok(
      report.viewers.some((v: string) => v.includes("status active")),
      `a member of each status stands in: ${report.viewers}`,
    );
    assert.ok(
      report.viewers.some((v: string) => v.includes("role web_editor")),
      "and a holder of each role",
    );
    assert.ok(report.responses > 10);
    const text = await clubos(t, "pages", "leak-audit");
    assert.equal(text.code, 0);
    assert.match(text.output, /^No leak: \d+ responses/m);
    const rows = await sql<{ findings: number }>`SELECT findings FROM page_leak_audits`.execute(
      t.get().runtime.database.db,
    );
    assert.deepEqual(
      rows.rows.map((r) => r.findings),
      [0, 0],
    );
    assert.equal(await metric(t), "0");
    const op = await createMember(t.get().runtime, ["member", "operator"], "Operator");
    const client = new Client(t.get().baseUrl);
    assert.equal((await client.login(op.email, op.password)).status, 303);
    assert.match((await client.get("/admin/system")).text, /Publishing leak audit: no leak/);
  });

  test("[G08] a surface that bypasses the evaluator is found: exit 1, an alert, a SEV-1 publishing incident", async () => {
    const secret = `Committee minutes ${uniqueSlug("secret")}`;
    const hidden = await makePage(t.get().runtime.database, {
      slug: uniqueSlug("members-only"),
      title: secret,
      audience: { type: "members" },
      blocks: [{ type: "text", data: { markdown: "Only for members" } }],
    });
    // The real routes are clean with this page too: the finding below is the planted route's.
    assert.equal((await runLeakAudit(t.get().runtime)).ok, true);
    const run = await withPlantedLeak(() => clubos(t, "pages", "leak-audit", "--json"));
    assert.equal(run.code, 1, "the audit exits non-zero on a leak");
    const report = JSON.parse(run.output);
    assert.ok(
      report.findings.some(
        (f: { viewer: string; surface: string; subject: string; problem: string }) =>
          f.viewer === "anonymous" &&
          f.surface === "/sitemap.xml" &&
          f.subject === hidden.slug &&
          /not public is in the sitemap/.test(f.problem),
      ),
      run.output,
    );
    const db = t.get().runtime.database.db;
    const incident = await sql<{ severity: string; area: string; title: string }>`
      SELECT severity, area, title FROM incidents WHERE number = ${report.incident}`.execute(db);
    assert.equal(incident.rows[0]?.severity, "SEV-1");
    assert.equal(incident.rows[0]?.area, "publishing");
    assert.match(incident.rows[0]!.title, new RegExp(hidden.slug));
    const alert = await sql<{
      severity: string;
    }>`SELECT severity FROM operator_alerts WHERE key = 'pages.leak'`.execute(db);
    assert.equal(alert.rows[0]?.severity, "critical");
    assert.notEqual(await metric(t), "0");
    // A second leaky run notes the same incident; a clean run clears the alert (the incident stays open).
    const again = await withPlantedLeak(() => clubos(t, "pages", "leak-audit", "--json"));
    assert.equal(JSON.parse(again.output).incident, report.incident);
    const clean = await auditAndRecord(t.get().runtime, t.get().runtime.actionEnv(systemActor("test")));
    assert.equal(clean.report.ok, true);
    const cleared = await sql`SELECT 1 FROM operator_alerts WHERE key = 'pages.leak'`.execute(db);
    assert.equal(cleared.rows.length, 0);
    assert.equal(await metric(t), "0");
  });

  test("[G08] a feed whose summaries skip the block decision is found: the hidden block, for each viewer it excludes", async () => {
    const words = `Treasurer bank details ${uniqueSlug("acct").replace(/-/g, " ")}`;
    const post = await makePage(t.get().runtime.database, {
      slug: uniqueSlug("news"),
      kind: "news",
      title: "Public news post",
      blocks: [
        { type: "text", data: { markdown: "Public opening words" } },
        { type: "text", data: { markdown: words }, audience: { type: "roles", roles: ["full_admin"] } },
      ],
    });
    assert.equal((await runLeakAudit(t.get().runtime)).ok, true, "the real feed is clean");
    const report = await withPlantedLeak(() => runLeakAudit(t.get().runtime), leakyFeed);
    const feed = report.findings.filter((f) => f.surface === "/news.atom" && f.subject === `${post.slug}#2`);
    assert.ok(
      feed.some((f) => f.viewer === "anonymous" && /hidden block/.test(f.problem)),
      JSON.stringify(report.findings),
    );
    assert.ok(!feed.some((f) => f.viewer.includes("role full_admin")), "not for a viewer the rule admits");
  });

  test("[G08] the scheduled job runs the same audit and says what it found", async () => {
    const job = findJob("pages-leak-audit");
    assert.ok(job);
    const rt = t.get().runtime;
    const summary = await withPlantedLeak(() =>
      job.run({
        ctx: rt,
        runId: "test-run",
        triggeredBy: "scheduler",
        now: new Date(),
        signal: new AbortController().signal,
        progress: () => {},
      }),
    );
    assert.equal(summary.changed, 1);
    assert.match(summary.detail ?? "", /LEAK: \d+ finding\(s\); SEV-1 incident INC-\d+/);
  });

  test("[G08] a page file served past its audience is found, by its direct address, for each viewer it excludes", async () => {
    const rt = t.get().runtime;
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      "base64",
    );
    const page = await makePage(rt.database, {
      slug: uniqueSlug("members-photo"),
      audience: { type: "members" },
      publish: false,
    });
    const by = publisher();
    const up = await act(rt.database, by, uploadPageFile, {
      pageId: page.id,
      version: page.version,
      kind: "image",
      fileName: "photo.png",
      bytes: png,
      maxBytes: 1_000_000,
      text: "Members at the picnic",
    });
    await act(rt.database, by, publishPage, {
      pageId: page.id,
      version: up.page.version,
      timeZone: "Europe/London",
    });
    assert.equal((await runLeakAudit(rt)).ok, true, "the real file route is clean");
    const report = await withPlantedLeak(() => runLeakAudit(rt), leakyFiles, pageFileRoutes);
    has(
      report.findings,
      (f) =>
        f.viewer === "anonymous" &&
        f.surface.startsWith(`/p/${page.slug}/files/`) &&
        /a hidden file answers 200/.test(f.problem),
    );
    assert.ok(
      !report.findings.some(
        (f) => f.viewer.includes("status active") && f.surface.startsWith(`/p/${page.slug}/`),
      ),
      "not for a member the page admits",
    );
  });

  test("[G08] the JSON API is audited: a draft's words, a hidden page and a hidden block it serves are found", async () => {
    const rt = t.get().runtime;
    const draftWords = `Draft budget cuts ${uniqueSlug("draft").replace(/-/g, " ")}`;
    const draftOnly = await makePage(rt.database, {
      slug: uniqueSlug("draft-only"),
      title: draftWords,
      publish: false,
    });
    const hiddenWords = `Members ballot result ${uniqueSlug("ballot").replace(/-/g, " ")}`;
    const open = await makePage(rt.database, {
      slug: uniqueSlug("open"),
      blocks: [
        { type: "text", data: { markdown: "Open words for everyone" } },
        { type: "text", data: { markdown: hiddenWords }, audience: { type: "members" } },
      ],
    });
    const members = await makePage(rt.database, {
      slug: uniqueSlug("members"),
      title: `Members list ${uniqueSlug("ml").replace(/-/g, " ")}`,
      audience: { type: "members" },
    });
    // A new draft of a published page, with words that were never published.
    const newTitle = `Unpublished new title ${uniqueSlug("nt").replace(/-/g, " ")}`;
    const by = publisher();
    const started = await act(rt.database, by, startDraft, { pageId: open.id, version: open.version });
    await act(rt.database, by, saveDraft, {
      pageId: open.id,
      version: started.version,
      title: newTitle,
      summary: "",
    });
    assert.equal((await runLeakAudit(rt)).ok, true, "the real API, pages and listings are clean");
    const report = await withPlantedLeak(() => runLeakAudit(rt), leakyApi, pageApiRoutes);
    const anon = report.findings.filter((f) => f.viewer === "anonymous");
    has(anon, (f) => f.surface === "/api/v1/pages" && f.subject === `draft 1 of ${draftOnly.slug}`);
    has(
      anon,
      (f) =>
        f.surface === "/api/v1/pages" && /draft \d+ of /.test(f.subject) && f.subject.endsWith(open.slug),
    );
    has(
      anon,
      (f) =>
        f.surface === "/api/v1/pages" &&
        f.subject === draftOnly.slug &&
        /link to a hidden page/.test(f.problem),
    );
    has(
      anon,
      (f) =>
        f.surface === `/api/v1/pages/${members.slug}` &&
        /hidden page \(JSON API\) answers 200/.test(f.problem),
    );
    has(anon, (f) => f.surface === `/api/v1/pages/${open.slug}` && f.subject === `${open.slug}#2`);
  });

  test("[G08] an event-list block that lists an event hidden from the viewer is found", async () => {
    const rt = t.get().runtime;
    const title = `Members barbecue ${uniqueSlug("bbq").replace(/-/g, " ")}`;
    await publishedEvent(rt, { title, audience: "members" });
    const page = await makePage(rt.database, {
      slug: uniqueSlug("events"),
      blocks: [{ type: "event_list", data: { limit: 20 } }],
    });
    assert.equal((await runLeakAudit(rt)).ok, true, "the real event list is clean");
    const report = await withPlantedLeak(() => runLeakAudit(rt), leakyEventList, pageRoutes);
    has(
      report.findings,
      (f) =>
        f.viewer === "anonymous" &&
        f.surface === `/p/${page.slug}` &&
        /a hidden event is listed/.test(f.problem),
    );
    assert.ok(
      !report.findings.some(
        (f) => f.viewer !== "anonymous" && /hidden event/.test(f.problem) && f.subject.includes(title),
      ),
      "members may see it",
    );
  });

  test("[G09] a preview opened without pages:preview is found: the draft's words, its files, the missing headers", async () => {
    const rt = t.get().runtime;
    const draftWords = `Secret draft plans ${uniqueSlug("plans").replace(/-/g, " ")}`;
    const page = await makePage(rt.database, { slug: uniqueSlug("draft-prev"), publish: false });
    const by = publisher();
    await act(rt.database, by, saveDraft, {
      pageId: page.id,
      version: page.version,
      title: draftWords,
      summary: "",
    });
    const up = await act(rt.database, by, uploadPageFile, {
      pageId: page.id,
      version: await versionOf(rt.database, page.id),
      kind: "image",
      fileName: "plan.png",
      bytes: Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
        "base64",
      ),
      maxBytes: 1_000_000,
      text: "The plan",
    });
    assert.ok(up.page.version > page.version);
    const clean = await runLeakAudit(rt);
    assert.equal(clean.ok, true, JSON.stringify(clean.findings));
    const report = await withPlantedLeak(() => runLeakAudit(rt), leakyPreviews, previewRoutes);
    const at = `/preview/pages/${page.id}/revisions/1`;
    for (const viewer of ["anonymous", "member"]) {
      const theirs = report.findings.filter((f) =>
        viewer === "anonymous" ? f.viewer === "anonymous" : f.viewer !== "anonymous",
      );
      has(theirs, (f) => f.surface === at && /shown to a viewer who may not preview/.test(f.problem));
      has(theirs, (f) => f.surface === at && f.subject === `draft 1 of ${page.slug}`);
      has(theirs, (f) => f.surface.startsWith(`${at}/files/`) && /may not preview/.test(f.problem));
    }
    // The preview headers are set for every /preview/ answer in one place (src/http/headers.ts): an app
    // that loses them is found, on the refusals too.
    const stripHeader = (app: FastifyInstance) =>
      app.addHook("onSend", async (_request, reply, payload) => {
        reply.removeHeader("x-robots-tag");
        return payload;
      });
    ROUTE_MODULES.push(stripHeader);
    const stripped = await runLeakAudit(rt).finally(() => ROUTE_MODULES.pop());
    has(stripped.findings, (f) => f.surface === at && /lacks its no-store and noindex/.test(f.problem));
  });
});
