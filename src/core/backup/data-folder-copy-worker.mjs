// The two passes of copyDataFolder (data-folder-copy.ts), in a worker thread: synchronous file copies
// here wait on the disk only, never on the server's event loop, which a loaded server keeps busy (each
// awaited copy in the main thread waited for its next turn: bench:backup BENCH_EMBEDDED, 2026-12-02).
// Plain JavaScript, so the compiled clubos command (which has no TypeScript loader) can start it too.
// Protocol: workerData {from, to} -> {type: "copied"} after the first pass; then {type: "second"} ->
// {type: "done"}; any failure -> {type: "error", message, code}.
import fs from "node:fs";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";

// A file written this long before the first pass began is copied again anyway: file times are coarse
// (a write in the same clock tick as the first look can leave the time unchanged).
const MODIFY_WINDOW_MS = 2_000;

const { from, to } = workerData;
const started = Date.now();
// What the first pass saw of each file; a file that differs in any of these is copied again.
const seen = new Map();

function walk(rel = "", out = { dirs: [], files: [] }) {
  for (const entry of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
    const name = path.join(rel, entry.name);
    if (entry.isDirectory()) {
      out.dirs.push(name);
      walk(name, out);
    } else if (entry.isFile()) out.files.push(name);
  }
  return out;
}

const gone = (error) => error.code === "ENOENT";

function firstPass() {
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  const found = walk();
  for (const dir of found.dirs) fs.mkdirSync(path.join(to, dir), { recursive: true, mode: 0o700 });
  for (const rel of found.files) {
    try {
      const st = fs.statSync(path.join(from, rel));
      seen.set(rel, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      fs.copyFileSync(path.join(from, rel), path.join(to, rel));
    } catch (error) {
      if (!gone(error)) throw error; // removed meanwhile (a recycled log segment): the second pass decides
      seen.delete(rel);
    }
  }
}

function secondPass() {
  const now = walk();
  for (const dir of now.dirs) fs.mkdirSync(path.join(to, dir), { recursive: true, mode: 0o700 });
  const present = new Set(now.files);
  for (const rel of seen.keys()) if (!present.has(rel)) fs.rmSync(path.join(to, rel), { force: true });
  for (const rel of now.files) {
    const st = fs.statSync(path.join(from, rel));
    const before = seen.get(rel);
    const same =
      before &&
      before.size === st.size &&
      before.mtimeMs === st.mtimeMs &&
      before.ino === st.ino &&
      st.mtimeMs < started - MODIFY_WINDOW_MS;
    if (!same) fs.copyFileSync(path.join(from, rel), path.join(to, rel));
  }
  // A folder removed since the first pass (nothing in PGlite's folder does this) would stay, empty.
}

function step(fn, reply) {
  try {
    fn();
    parentPort.postMessage({ type: reply });
  } catch (error) {
    parentPort.postMessage({ type: "error", message: error.message, code: error.code });
  }
}

parentPort.on("message", (message) => {
  if (message.type === "second") step(secondPass, "done");
});
step(firstPass, "copied");
