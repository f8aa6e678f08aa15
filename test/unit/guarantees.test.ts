import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  type CheckOptions,
  checkRegistry,
  declaresSymbol,
  listMetrics,
  listRoutes,
  listVerbs,
} from "../../src/guarantees/check.ts";
import { renderGuaranteesDoc } from "../../src/guarantees/generate-doc.ts";
import { nonGuarantees } from "../../src/guarantees/non-guarantees.ts";
import { type Guarantee, guarantees } from "../../src/guarantees/registry.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

// A fake repository holding exactly what the good entry names, so each test removes one thing.
const fake = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-guarantees-"));
fs.mkdirSync(path.join(fake, "src"), { recursive: true });
fs.mkdirSync(path.join(fake, "docs/runbooks"), { recursive: true });
fs.writeFileSync(
  path.join(fake, "src/gate.ts"),
  "// mentionedOnly is named here but never declared\nexport function realGate() {}\n",
);
fs.writeFileSync(path.join(fake, "docs/runbooks/fix.md"), "# Fix\n");
after(() => fs.rmSync(fake, { recursive: true, force: true }));

function good(): Guarantee {
  return {
    id: "G04",
    title: "A guarantee",
    rules: ["W-2"],
    status: "enforced",
    mechanisms: [{ description: "the gate", file: "src/gate.ts", symbol: "realGate" }],
    detection: [{ description: "verify", kind: "cli", reference: "audit verify" }],
    recovery: [{ description: "fix it", cliVerb: "mode set", runbook: "docs/runbooks/fix.md" }],
  };
}

const options: CheckOptions = {
  root: fake,
  verbs: ["audit", "audit verify", "mode", "mode set"],
  passedTestNames: ["[G04] the gate holds"],
};

function problemsWith(change: (g: Guarantee) => void, extra: Partial<CheckOptions> = {}): string[] {
  const g = good();
  change(g);
  return checkRegistry([g], { ...options, ...extra }).map((p) => `${p.id}: ${p.message}`);
}

describe("guarantee registry", () => {
  test("the real registry has the 17 matrix rows G01..G17 in order", () => {
    assert.deepEqual(
      guarantees.map((g) => g.id),
      Array.from({ length: 17 }, (_, i) => `G${String(i + 1).padStart(2, "0")}`),
    );
  });

  test("[G16] an entry that names real things and has a passing tagged test passes", () => {
    assert.deepEqual(
      problemsWith(() => {}),
      [],
    );
  });

  test("[G16] an enforced entry without detection, mechanism or recovery is flagged", () => {
    assert.match(problemsWith((g) => (g.detection = [])).join("\n"), /G04: enforced but names no detection/);
    assert.match(problemsWith((g) => (g.mechanisms = [])).join("\n"), /G04: enforced but names no mechanism/);
    assert.match(problemsWith((g) => (g.recovery = [])).join("\n"), /G04: enforced but names no recovery/);
  });

  test("[G16] a mechanism file that does not exist, or escapes the repository, is flagged", () => {
    assert.match(
      problemsWith((g) => (g.mechanisms[0]!.file = "src/gone.ts")).join(),
      /src\/gone.ts does not exist/,
    );
    assert.match(
      problemsWith((g) => (g.mechanisms[0]!.file = "../x.ts")).join(),
      /\.\.\/x.ts does not exist/,
    );
  });

  test("[G16] a symbol absent from its file, or only mentioned in a comment, is flagged", () => {
    assert.match(
      problemsWith((g) => (g.mechanisms[0]!.symbol = "noSuchGate")).join(),
      /does not declare noSuchGate/,
    );
    assert.match(
      problemsWith((g) => (g.mechanisms[0]!.symbol = "mentionedOnly")).join(),
      /does not declare mentionedOnly/,
    );
    assert.equal(declaresSymbol("-- audit_log_x\nCREATE TABLE t ();", "a.sql", "audit_log_x"), false);
    assert.equal(declaresSymbol("CREATE TRIGGER audit_log_x", "a.sql", "audit_log_x"), true);
  });

  test("[G16] a CLI verb that does not exist is flagged, in recovery and in detection", () => {
    assert.match(
      problemsWith((g) => (g.recovery[0]!.cliVerb = "mode explode")).join(),
      /"clubos mode explode"/,
    );
    assert.match(
      problemsWith((g) => (g.detection[0]!.reference = "audit inspect")).join(),
      /"clubos audit inspect"/,
    );
  });

  test("[G16] a metric that is not registered or a route that is not declared is flagged", () => {
    const known = { metrics: ["clubos_mode_normal"], routes: ["/readyz"] };
    const metric = (g: Guarantee) =>
      (g.detection = [{ description: "m", kind: "metric", reference: "clubos_x" }]);
    assert.match(problemsWith(metric, known).join(), /the metric clubos_x, which is not registered/);
    const route = (g: Guarantee) =>
      (g.detection = [{ description: "h", kind: "health", reference: "/livez" }]);
    assert.match(problemsWith(route, known).join(), /the route \/livez, which is not declared/);
    const labelled = (g: Guarantee) =>
      (g.detection = [{ description: "m", kind: "metric", reference: 'clubos_mode_normal{a="b"}' }]);
    assert.deepEqual(problemsWith(labelled, known), []);
  });

  test("[G16] a runbook that does not exist is flagged", () => {
    assert.match(
      problemsWith((g) => (g.recovery[0]!.runbook = "docs/runbooks/missing.md")).join(),
      /runbook docs\/runbooks\/missing.md does not exist/,
    );
  });

  test("[G16] an enforced entry with no passing test tagged with its id is flagged", () => {
    const names = ["G04 untagged", "[G05] another row", "[G4] typo"];
    const problems = problemsWith(() => {}, { passedTestNames: names }).join("\n");
    assert.match(problems, /G04: enforced but no test named with \[G04\] passed/);
    const failed = problemsWith(() => {}, { failedTestNames: ["[G04] the gate holds"] }).join();
    assert.match(failed, /G04: test failed: \[G04\] the gate holds/);
    assert.deepEqual(
      problemsWith((g) => (g.status = "planned"), { passedTestNames: [] }),
      [],
    );
  });

  test("[G16] the verb list comes from the real commander program", async () => {
    const verbs = await listVerbs();
    for (const verb of [
      "serve",
      "guarantees",
      "routes",
      "mode set",
      "mode switch",
      "audit verify",
      "roles end",
    ]) {
      assert.ok(verbs.includes(verb), `missing ${verb} in ${verbs.join(", ")}`);
    }
    assert.ok(!verbs.includes("mode explode"));
  });

  test("[G16] the real registry names only files, symbols, metrics, routes, verbs and runbooks that exist", async () => {
    const problems = checkRegistry(guarantees, {
      root: ROOT,
      verbs: await listVerbs(),
      metrics: listMetrics(),
      routes: await listRoutes(),
      passedTestNames: guarantees.map((g) => `[${g.id}]`),
    });
    assert.deepEqual(problems, []);
  });

  test("[G16] docs/GUARANTEES.md is what the registry renders (npm run docs:guarantees)", () => {
    const onDisk = fs.readFileSync(path.join(ROOT, "docs/GUARANTEES.md"), "utf8");
    assert.equal(onDisk, renderGuaranteesDoc());
    const changed = guarantees.map((g, i) => (i === 0 ? { ...g, title: "changed" } : g));
    assert.notEqual(onDisk, renderGuaranteesDoc(changed));
  });

  test("docs/GUARANTEES.md also says what ClubOS does not promise, each item from the list", () => {
    const onDisk = fs.readFileSync(path.join(ROOT, "docs/GUARANTEES.md"), "utf8");
    assert.match(onDisk, /## What ClubOS does not promise/);
    for (const item of nonGuarantees) assert.ok(onDisk.includes(`**${item.title}.**`), item.title);
    assert.notEqual(onDisk, renderGuaranteesDoc(guarantees, nonGuarantees.slice(1)));
  });
});
