import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

/* The shape of the code, enforced: dependencies run one way (app -> http and domains -> core), a domain
 * uses another domain's repository, policies, errors and schemas but never its actions, routes or
 * views, and SQL lives only in repositories, invariant files and the core (docs/ARCHITECTURE.md). Each
 * rule fails on a new violation; KNOWN lists what is left to move, and must only shrink. */

const ROOT = path.resolve(import.meta.dirname, "../..");
const SRC = path.join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => path.join(dir, f));
}

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");

/** Every relative import of a file, resolved to a repository path. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:import|export)[^'"]*?from\s+["'](\.[^"']+)["']|import\(["'](\.[^"']+)["']\)/g,
  )) {
    const spec = m[1] ?? m[2]!;
    out.push(rel(path.resolve(path.dirname(file), spec)));
  }
  return out;
}

const layer = (p: string) => p.split("/")[1]; // src/<layer>/...
const domainOf = (p: string) => (p.startsWith("src/domains/") ? p.split("/")[2] : undefined);

/** Files of another domain that a domain may import: its data access, rules and contract. */
const SHARED_KINDS = /\.(repository|policies|errors|schemas|presenters)\.ts$/;

/** The one named exception: deleting a member cancels their places in the same transaction
 * (src/domains/events/events.lifecycle.ts). */
const LIFECYCLE_EXCEPTIONS = new Set([
  "src/domains/members/members.actions.ts -> src/domains/events/events.lifecycle.ts",
]);

function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = rel(file);
    for (const to of importsOf(file)) {
      if (!to.startsWith("src/")) continue;
      const edge = `${from} -> ${to}`;
      const a = layer(from);
      const b = layer(to);
      if (a === "core" && b !== "core") found.push(`core imports ${b}: ${edge}`);
      if (a === "http" && (b === "domains" || b === "app")) found.push(`http imports ${b}: ${edge}`);
      if (a === "domains" && b === "app") found.push(`a domain imports the app: ${edge}`);
      const da = domainOf(from);
      const db = domainOf(to);
      if (da && db && da !== db && !SHARED_KINDS.test(to) && !LIFECYCLE_EXCEPTIONS.has(edge))
        found.push(`domain ${da} imports ${db}'s ${path.basename(to)}: ${edge}`);
    }
  }
  return found.sort();
}

const QUERY = /\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(|\bsql(<[^>]*>)?`/;

/** Where SQL may be written: repositories, invariant files, the core. */
function sqlMayLiveIn(file: string): boolean {
  return /\.repository\.ts$/.test(file) || /\.invariants\.ts$/.test(file) || file.startsWith("src/core/");
}

function sqlOutsideRepositories(): string[] {
  return sourceFiles(SRC)
    .map(rel)
    .filter((file) => !sqlMayLiveIn(file) && QUERY.test(fs.readFileSync(path.join(ROOT, file), "utf8")))
    .sort();
}

// What is left to move, as the domains move to the new shapes; only ever shrinks.
const KNOWN_DEPENDENCIES: string[] = [];
const KNOWN_SQL: string[] = [];

test("dependencies run one way: core knows no domain and no HTTP, http no domain, domains never the app", () => {
  const found = violations().filter((v) => !KNOWN_DEPENDENCIES.includes(v));
  assert.deepEqual(found, [], "new dependency violations (see docs/ARCHITECTURE.md for where things go)");
});

test("a domain uses another domain's repository, policies, errors, schemas and presenters, never its actions, routes or views", () => {
  const cross = violations().filter((v) => v.startsWith("domain "));
  const unexpected = cross.filter((v) => !KNOWN_DEPENDENCIES.includes(v));
  assert.deepEqual(unexpected, []);
  assert.ok(
    [...LIFECYCLE_EXCEPTIONS].every((edge) => {
      const [from, to] = edge.split(" -> ");
      return importsOf(path.join(ROOT, from!)).includes(to!);
    }),
    "each named exception still exists (remove it from the list when it goes)",
  );
});

test("SQL is written only in repositories, invariant files and the core", () => {
  const found = sqlOutsideRepositories();
  assert.deepEqual(
    found.filter((f) => !KNOWN_SQL.includes(f)),
    [],
    "queries belong in the domain's *.repository.ts",
  );
  const stale = KNOWN_SQL.filter((f) => !found.includes(f));
  assert.deepEqual(stale, [], "these files no longer hold SQL: take them off KNOWN_SQL");
});

test("the rules notice a violation: a core file importing a domain, SQL in a route file", () => {
  const probe = path.join(SRC, "core", "__probe.ts");
  const route = path.join(SRC, "domains", "events", "__probe.routes.ts");
  try {
    fs.writeFileSync(
      probe,
      'import { EVENT_ERRORS } from "../domains/events/events.errors.ts";\nvoid EVENT_ERRORS;\n',
    );
    fs.writeFileSync(route, 'export const q = (db: any) => db.selectFrom("events");\n');
    assert.ok(violations().some((v) => v.includes("core/__probe.ts")));
    assert.ok(sqlOutsideRepositories().includes("src/domains/events/__probe.routes.ts"));
  } finally {
    fs.rmSync(probe, { force: true });
    fs.rmSync(route, { force: true });
  }
});

test("no ClubError is made outside the error catalogue (src/core/errors.ts)", () => {
  const inline = sourceFiles(SRC)
    .map(rel)
    .filter(
      (f) =>
        f !== "src/core/errors.ts" && /new ClubError\(/.test(fs.readFileSync(path.join(ROOT, f), "utf8")),
    );
  assert.deepEqual(inline, [], "declare the code with defineErrors in the domain's *.errors.ts");
});
