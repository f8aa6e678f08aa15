import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { copyDataFolder } from "../../src/core/backup/data-folder-copy.ts";

// An embedded backup copies PGlite's data folder while the server runs, then, with the database's one
// connection held, copies again what changed meanwhile (data-folder-copy.ts). These hold the second
// pass to leaving the copy exactly as the folder is at that quiet moment.

/** Every file of a folder with its bytes, by path. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(dir, { recursive: true }).map(String).sort()) {
    const file = path.join(dir, rel);
    if (fs.statSync(file).isFile()) out[rel] = fs.readFileSync(file, "hex");
  }
  return out;
}

function folder(): { from: string; to: string; done(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-folder-copy-"));
  const from = path.join(root, "data");
  fs.mkdirSync(path.join(from, "base", "1"), { recursive: true });
  fs.writeFileSync(path.join(from, "PG_VERSION"), "15\n");
  fs.writeFileSync(path.join(from, "base", "1", "1259"), Buffer.alloc(64 * 1024, 1));
  fs.writeFileSync(path.join(from, "base", "1", "2608"), Buffer.alloc(8192, 2));
  fs.writeFileSync(path.join(from, "pg_wal_000001"), Buffer.alloc(16 * 1024, 3));
  return { from, to: path.join(root, "copy"), done: () => fs.rmSync(root, { recursive: true, force: true }) };
}

test("[G01] what changes between the two passes (written, added, removed, a new folder) is as the folder is at the quiet moment", async () => {
  const { from, to, done } = folder();
  try {
    let copiedBeforeQuiet: Record<string, string> = {};
    await copyDataFolder(from, to, async (secondPass) => {
      copiedBeforeQuiet = contents(to);
      // What the server wrote while the first pass ran.
      fs.appendFileSync(path.join(from, "base", "1", "1259"), Buffer.alloc(8192, 9));
      fs.writeFileSync(path.join(from, "pg_wal_000002"), Buffer.alloc(1024, 4));
      fs.rmSync(path.join(from, "pg_wal_000001"));
      fs.mkdirSync(path.join(from, "base", "2"));
      fs.writeFileSync(path.join(from, "base", "2", "1259"), "new relation");
      await secondPass();
    });
    assert.equal(copiedBeforeQuiet.PG_VERSION, Buffer.from("15\n").toString("hex"), "the first pass copied");
    assert.deepEqual(contents(to), contents(from));
  } finally {
    done();
  }
});

test("[G01] a file rewritten in place with its size and time unchanged is copied again when it was written just before the copy began", async () => {
  const { from, to, done } = folder();
  try {
    const file = path.join(from, "base", "1", "2608");
    // A whole second, as a coarse file system would record it (this one keeps nanoseconds).
    const tick = Math.floor(Date.now() / 1000);
    fs.utimesSync(file, tick, tick);
    await copyDataFolder(from, to, async (secondPass) => {
      // The same size and, put back, the same time: only how recent the file is tells it changed.
      fs.writeFileSync(file, Buffer.alloc(8192, 7));
      fs.utimesSync(file, tick, tick);
      await secondPass();
    });
    assert.equal(fs.readFileSync(path.join(to, "base", "1", "2608"))[0], 7);
  } finally {
    done();
  }
});

test("[G01] a folder that cannot be read fails the copy with its reason, and the worker is gone", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-folder-copy-"));
  try {
    await assert.rejects(
      copyDataFolder(path.join(root, "missing"), path.join(root, "copy"), (second) => second()),
      (error: NodeJS.ErrnoException) => error.code === "ENOENT",
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
