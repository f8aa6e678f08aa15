import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import { findJob } from "../../src/app/jobs.ts";
import { auditAndRecord, runLeakAudit } from "../../src/app/leak-audit.ts";
import { ROUTE_MODULES } from "../../src/app/server.ts";
import { systemActor } from "../../src/core/actor.ts";
import { blockText } from "../../src/domains/pages/page-content.ts";
import { pageFeedRoutes } from "../../src/domains/pages/pages.feeds.routes.tsx";
import { publishedNewsWithBlocks, publishedPageList } from "../../src/domains/pages/pages.repository.ts";
import { READ } from "../../src/http/declarations.ts";
import { declareRoute } from "../../src/http/routes.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { makePage, uniqueSlug } from "../helpers/pages.ts";

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

/** Runs fn with the site's feed routes replaced by a leaky one (the other feed surfaces then 404). */
async function withPlantedLeak<T>(fn: () => Promise<T>, leaky = leakySitemap): Promise<T> {
  const at = ROUTE_MODULES.indexOf(pageFeedRoutes);
  assert.ok(at >= 0);
  ROUTE_MODULES[at] = leaky;
  try {
    return await fn();
  } finally {
    ROUTE_MODULES[at] = pageFeedRoutes;
  }
}

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
});
