import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readFunctionFiles, SCHEMA_DIRS } from "../../src/core/db/migrate.ts";

const SRC = path.resolve(import.meta.dirname, "../../src");
const FUNCTIONS_DIR = path.relative(SRC, SCHEMA_DIRS.functions);
const DEFINES = /CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)/gi;

test("each SQL function is defined in exactly one file of src/, its own in functions/, none in migrations", () => {
  const definedIn = new Map<string, string[]>();
  for (const file of fs.readdirSync(SRC, { recursive: true }).map(String)) {
    const full = path.join(SRC, file);
    if (!fs.statSync(full).isFile()) continue;
    for (const m of fs.readFileSync(full, "utf8").matchAll(DEFINES)) {
      const name = m[1]!.toLowerCase();
      const files = definedIn.get(name) ?? [];
      if (!files.includes(file)) files.push(file);
      definedIn.set(name, files);
    }
  }
  assert.ok(definedIn.size > 0, "the scan finds the function definitions");
  for (const [name, files] of definedIn) {
    assert.deepEqual(
      files,
      [path.join(FUNCTIONS_DIR, `${name}.sql`)],
      `${name} is defined in ${files.join(", ")}`,
    );
  }
});

test("a function file that creates a trigger drops it first, so applying the file again works", () => {
  for (const file of readFunctionFiles()) {
    for (const m of file.sql.matchAll(/^CREATE TRIGGER (\w+) .*? ON (\w+)/gms)) {
      const drop = `DROP TRIGGER IF EXISTS ${m[1]} ON ${m[2]};`;
      const at = file.sql.indexOf(drop);
      assert.ok(at >= 0 && at < m.index, `${file.name} has "${drop}" before CREATE TRIGGER ${m[1]}`);
    }
  }
});

test("a function file is applied no earlier than the functions it calls", () => {
  const files = readFunctionFiles();
  const position = new Map(files.map((f, i) => [f.name.slice(0, -".sql".length), i]));
  files.forEach((file, i) => {
    for (const [name, at] of position) {
      if (new RegExp(`\\b${name}\\(`).test(file.sql)) {
        assert.ok(
          at <= i,
          `${file.name} calls ${name}, which is applied after it: move its clubos:after line`,
        );
      }
    }
  });
});

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-function-files-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test("a function file that does not say which migration it needs, or names none that exists, is refused", () => {
  const dirs = { migrations: path.join(scratch, "migrations"), functions: path.join(scratch, "functions") };
  fs.mkdirSync(dirs.migrations);
  fs.mkdirSync(dirs.functions);
  fs.writeFileSync(path.join(dirs.migrations, "0001_core.sql"), "SELECT 1;\n");
  const body = "CREATE OR REPLACE FUNCTION clubos_x() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;\n";
  const refused = (header: string, why: RegExp) => {
    fs.writeFileSync(path.join(dirs.functions, "clubos_x.sql"), header + body);
    assert.throws(
      () => readFunctionFiles(dirs),
      (e: { code?: string; message?: string }) =>
        e.code === "function_file_invalid" && why.test(e.message ?? ""),
    );
  };
  refused("", /clubos:after/);
  refused("-- clubos:after 0002_missing\n", /0002_missing, which does not exist/);
  fs.writeFileSync(path.join(dirs.functions, "clubos_x.sql"), `-- clubos:after 0001_core\n${body}`);
  assert.deepEqual(
    readFunctionFiles(dirs).map((f) => [f.name, f.after]),
    [["clubos_x.sql", "0001_core.sql"]],
  );
});
