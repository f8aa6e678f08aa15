// `npm test`: type check, lint, every test suite, then the guarantee registry check.
// Suites that cannot run here (no PostgreSQL, no Chromium) are skipped with the reason; with
// CLUBOS_REQUIRE_ALL_SUITES=1 (set by .ci/run) a skip is a failure.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const requireAll = process.env.CLUBOS_REQUIRE_ALL_SUITES === "1";
const only = process.argv.slice(2);

function run(title, command, args, env = {}) {
  console.log(`\n=== ${title}`);
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
  return result.status === 0;
}

function testFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".test.ts") || f.endsWith(".test.tsx"))
    .map((f) => path.join(dir, f))
    .sort();
}

const failures = [];
if (only.length === 0) {
  if (!run("type check", "npx", ["tsc", "--noEmit"])) failures.push("type check");
  if (!run("lint", "npx", ["biome", "check", "."])) failures.push("lint");
}

// Arguments may name test files or folders of them.
const files = (only.length ? only : ["test/unit", "test/integration", "test/browser"]).flatMap((arg) =>
  fs.existsSync(arg) && fs.statSync(arg).isDirectory() ? testFiles(arg) : [arg],
);
const resultsDir = path.join(root, ".test-results");
fs.mkdirSync(resultsDir, { recursive: true });
// One file per run, so two runs in one tree cannot overwrite each other's results; the last run's is
// also copied to results.jsonl at the end.
const resultsFile = path.join(resultsDir, `results-${process.pid}.jsonl`);
fs.rmSync(resultsFile, { force: true });
const testsOk = run("tests", process.execPath, [
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  // A hung test fails after 5 minutes instead of eating the CI budget.
  "--test-timeout=300000",
  "--test-reporter=spec",
  "--test-reporter-destination=stdout",
  "--test-reporter=./scripts/results-reporter.mjs",
  `--test-reporter-destination=${resultsFile}`,
  ...files,
]);
if (!testsOk) failures.push("tests");
if (files.length === 0) failures.push("tests (none found)");

const results = fs.existsSync(resultsFile)
  ? fs
      .readFileSync(resultsFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const leaves = results.filter((r) => !r.isSuite);
const passed = leaves.filter((r) => r.status === "pass").length;
const failed = leaves.filter((r) => r.status === "fail").length;
const skipped = results.filter((r) => r.status === "skip" || r.status === "todo");
if (leaves.length === 0) failures.push("tests (none ran)");
if (skipped.length > 0) {
  console.log(`\n${skipped.length} skipped:`);
  for (const s of skipped) console.log(`  - ${s.name}`);
  if (requireAll) failures.push("skipped suites (every suite is required here)");
}

if (only.length === 0) {
  if (
    !run("guarantee registry", process.execPath, ["--import", "tsx", "src/guarantees/check.ts", resultsFile])
  ) {
    failures.push("guarantee registry");
  }
}

if (fs.existsSync(resultsFile)) fs.renameSync(resultsFile, path.join(resultsDir, "results.jsonl"));
console.log(failures.length ? `\nFAILED: ${failures.join(", ")}` : "\nAll checks passed.");
console.log(
  `tests: ${passed} passed, ${failed + (failures.length && !failed ? 1 : 0)} failed, ${skipped.length} skipped`,
);
process.exit(failures.length ? 1 : 0);
