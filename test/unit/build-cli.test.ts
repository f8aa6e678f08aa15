import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CliBuild } from "../../scripts/build-cli.mjs";
import { compiledCli } from "../../scripts/build-cli.mjs";

// The compiled copy bin/clubos.mjs runs (scripts/build-cli.mjs). Each test builds into a cache folder
// of its own, never the one the clubos command uses.
const ROOT = path.resolve(import.meta.dirname, "../..");
const made: string[] = [];
const cacheDir = () => {
  made.push(fs.mkdtempSync(path.join(os.tmpdir(), "clubos-build-")));
  return made.at(-1)!;
};
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
const manifestFile = (dir: string) => path.join(dir, "current.json");
const manifest = (dir: string) => JSON.parse(fs.readFileSync(manifestFile(dir), "utf8")) as CliBuild;

test("the compiled copy is built at the first call, then reused while no source changes", async () => {
  const dir = cacheDir();
  const first = await compiledCli(dir);
  assert.ok(first, "built");
  assert.ok(fs.existsSync(fileURLToPath(first)));
  const written = fs.statSync(manifestFile(dir)).mtimeMs;
  assert.equal(await compiledCli(dir), first);
  assert.equal(fs.statSync(manifestFile(dir)).mtimeMs, written, "the second call did not build again");
});

test("every source the copy is built from is watched, and a changed one makes the next call build again", async () => {
  const dir = cacheDir();
  await compiledCli(dir);
  const inputs = Object.keys(manifest(dir).inputs);
  for (const verb of fs.readdirSync(path.join(ROOT, "src/app/verbs")))
    assert.ok(inputs.includes(`src/app/verbs/${verb}`), `watches src/app/verbs/${verb}`);
  for (const file of [
    "src/app/main.ts",
    "src/core/db/schema-files.ts",
    "scripts/build-cli.mjs",
    "package.json",
    "node_modules/kysely/package.json", // bundled in: watched by its version, not its thousand files
  ])
    assert.ok(inputs.includes(file), `watches ${file}`);
  assert.deepEqual(
    inputs.filter((f) => f.startsWith("node_modules/") && !f.endsWith("/package.json")),
    [],
  );

  // As if src/app/main.ts had been edited since: its stamp no longer matches the file.
  const edited = manifest(dir);
  edited.inputs["src/app/main.ts"] = "0:0";
  fs.writeFileSync(manifestFile(dir), JSON.stringify(edited));
  assert.ok(await compiledCli(dir));
  assert.notEqual(manifest(dir).inputs["src/app/main.ts"], "0:0", "built again, with the file's new stamp");
});

test("each module of the copy keeps its own import.meta.url (to find the .sql files next to it)", async () => {
  const dir = cacheDir();
  const entry = fileURLToPath((await compiledCli(dir))!);
  const built = [entry, ...fs.readdirSync(path.join(path.dirname(entry), "chunks")).map((f) => `chunks/${f}`)]
    .filter((f) => f.endsWith(".js"))
    .map((f) => fs.readFileSync(path.resolve(path.dirname(entry), f), "utf8"))
    .join("\n");
  const users = Object.keys(manifest(dir).inputs).filter(
    (f) => f.startsWith("src/") && fs.readFileSync(path.join(ROOT, f), "utf8").includes("import.meta.url"),
  );
  assert.ok(users.includes("src/core/db/schema-files.ts"), users.join(", "));
  for (const file of users) {
    const own = JSON.stringify(pathToFileURL(path.join(ROOT, file)).href);
    assert.ok(built.includes(own), `${file} sees its own import.meta.url`);
  }
  assert.ok(!built.includes("import.meta.url"), "no module sees the bundle's");
});

test("calls building at the same moment agree on one copy", async () => {
  const dir = cacheDir();
  const urls = await Promise.all([compiledCli(dir), compiledCli(dir), compiledCli(dir)]);
  assert.ok(urls[0]);
  assert.deepEqual(urls, [urls[0], urls[0], urls[0]]);
  const folders = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  assert.deepEqual(
    folders.map((e) => e.name),
    [manifest(dir).build],
    "one build folder, no leftovers",
  );
});

test("a cache folder that cannot be written means running from the sources (null), not failing", async () => {
  const file = path.join(cacheDir(), "a-file");
  fs.writeFileSync(file, "");
  const write = process.stderr.write;
  let said = "";
  process.stderr.write = ((text: string) => {
    said += text;
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal(await compiledCli(path.join(file, "cache")), null);
  } finally {
    process.stderr.write = write;
  }
  assert.match(said, /could not write its compiled copy .* \(ENOTDIR\); running from the sources/);
});
