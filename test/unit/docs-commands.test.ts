import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { listVerbs } from "../../src/guarantees/check.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The documents an operator follows: every runbook, the operations guide and the README. */
function operatorDocs(): string[] {
  const runbooks = fs
    .readdirSync(path.join(ROOT, "docs/runbooks"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join("docs/runbooks", f));
  return [...runbooks, "docs/OPERATIONS.md", "README.md"];
}

/** Each `clubos …` command written in a document: at the start of a code line or of a code span
 * (`npx clubos …` included), as a volunteer would copy it. */
function commandsIn(markdown: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|`|\n\s*(?:\$\s*)?|npx\s+)clubos((?:\s+[a-z][a-z-]*)+)/g;
  for (const match of markdown.matchAll(pattern)) found.push(match[1]!.trim().split(/\s+/).join(" "));
  return found;
}

test("commandsIn reads commands from code spans and code lines, not from prose", () => {
  assert.deepEqual(commandsIn("Run `clubos mode set read-only` now.\n\n    clubos audit verify\n"), [
    "mode set read-only",
    "audit verify",
  ]);
  assert.deepEqual(commandsIn("Or `npx clubos members resume ID --actor NAME`."), ["members resume"]);
  assert.deepEqual(commandsIn("the clubos database is big"), []);
});

test("[G16] every clubos command in the runbooks, the operations guide and the README exists", async () => {
  const verbs = await listVerbs();
  const known = new Set(verbs);
  const isGroup = (verb: string) => verbs.some((v) => v.startsWith(`${verb} `));
  const problems: string[] = [];
  for (const doc of operatorDocs()) {
    for (const command of commandsIn(fs.readFileSync(path.join(ROOT, doc), "utf8"))) {
      // The longest leading words that make a verb; what follows are its arguments. A group (mode, audit)
      // there means the word after it is not one of its sub-commands.
      const words = command.split(" ");
      let n = words.length;
      while (n > 0 && !known.has(words.slice(0, n).join(" "))) n--;
      const verb = words.slice(0, n).join(" ");
      if (n === 0 || isGroup(verb)) problems.push(`${doc}: clubos ${command}`);
    }
  }
  assert.deepEqual(problems, []);
});
