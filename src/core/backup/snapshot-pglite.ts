import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { PgliteDatabase } from "../db/connect.ts";
import { copyDataFolder } from "./data-folder-copy.ts";
import { sessionSql } from "./format.ts";
import { describeSnapshot, type Snapshot, tableSelect } from "./snapshot.ts";
import { snapshotReader } from "./snapshot-reader.ts";

type Reply = { id: number; rows?: unknown[]; bytes?: ArrayBuffer; error?: string; done?: boolean };

/** A table's COPY text arrives whole; hashing and counting it in one piece would hold the server's
 * event loop for as long (about a second for the largest table of the benchmark club), so it is passed
 * on in slices, and requests are answered between them. */
const SLICE_BYTES = 1 << 20;
function* slices(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += SLICE_BYTES) yield bytes.subarray(at, at + SLICE_BYTES);
}

/** The data folder of a PGlite kept on disk (null for one in memory). */
function folderOf(database: PgliteDatabase): string | null {
  const dir = database.pglite.dataDir;
  if (!dir || dir.includes("://")) return null;
  const resolved = path.resolve(dir);
  return fs.existsSync(resolved) ? resolved : null;
}

/** The copies of the data folder a snapshot reads, named `backup-snapshot-<uuid>` beside it. */
const COPY_NAME = /^backup-snapshot-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** This process's copies being read now: only this process opens the data folder (src/app/data-lock.ts). */
const openCopies = new Set<string>();

/** Removes the copies beside the data folder that no snapshot of this process is reading: those a
 * process stopped mid-backup left (killed, or the machine lost power). Each is a whole, unencrypted
 * copy of the club's data, and as large as the data folder. */
export function removeLeftCopies(database: PgliteDatabase): string[] {
  const dataFolder = folderOf(database);
  if (!dataFolder) return [];
  const parent = path.dirname(dataFolder);
  const left = fs
    .readdirSync(parent)
    .filter((name) => COPY_NAME.test(name))
    .map((name) => path.join(parent, name))
    .filter((copy) => !openCopies.has(copy));
  for (const copy of left) fs.rmSync(copy, { recursive: true, force: true, maxRetries: 3 });
  return left;
}

/** Copies the data folder (copyDataFolder: the server keeps answering while it is read; the one
 * connection is held only to copy again what changed meanwhile, so no transaction is half-way through
 * the copy: it is what a clean stop would leave) into a folder beside it, then reads the copy in a worker
 * thread. A database in memory is dumped instead, holding the connection (tests and tools: small). */
export async function openPgliteSnapshot(database: PgliteDatabase): Promise<Snapshot> {
  const source = folderOf(database);
  const hold = <T>(fn: () => Promise<T>) => database.db.connection().execute(fn);
  let copy: string | null = null;
  let workerData: { session: string; dataDir?: string; tar?: ArrayBuffer };
  const transferList: ArrayBuffer[] = [];
  if (source) {
    removeLeftCopies(database);
    copy = path.join(path.dirname(source), `backup-snapshot-${randomUUID()}`);
    openCopies.add(copy);
    try {
      await copyDataFolder(source, copy, (secondPass) => hold(secondPass));
    } catch (error) {
      openCopies.delete(copy);
      fs.rmSync(copy, { recursive: true, force: true });
      throw error;
    }
    workerData = { session: sessionSql(), dataDir: copy };
  } else {
    const tar = await hold(async () => (await database.pglite.dumpDataDir("none")).arrayBuffer());
    workerData = { session: sessionSql(), tar };
    transferList.push(tar);
  }
  const removeCopy = () => {
    if (!copy) return;
    fs.rmSync(copy, { recursive: true, force: true, maxRetries: 3 });
    openCopies.delete(copy);
  };
  const worker = new Worker(new URL("./pglite-worker.mjs", import.meta.url), { workerData, transferList });
  let next = 1;
  const waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let failed: Error | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  worker.on("error", (error) => {
    failed = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  });
  worker.on("message", (reply: Reply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.error) w.reject(new Error(reply.error));
    else w.resolve(reply);
  });
  const ask = (
    type: "query" | "copy" | "close",
    sql = "",
    params: readonly unknown[] = [],
  ): Promise<Reply> => {
    if (failed) return Promise.reject(failed);
    const id = next++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, type, sql, params });
    });
  };
  try {
    await ready;
    const info = await describeSnapshot(async <R>(text: string) => (await ask("query", text)).rows as R[]);
    return {
      lanes: 1,
      info,
      reader: snapshotReader(async (text, params) => (await ask("query", text, params)).rows ?? []),
      async copyOut(table) {
        const reply = await ask("copy", tableSelect(table));
        return Readable.from(slices(Buffer.from(reply.bytes ?? new ArrayBuffer(0))));
      },
      async close() {
        await ask("close").catch(() => {});
        await worker.terminate();
        removeCopy();
      },
    };
  } catch (error) {
    await worker.terminate();
    removeCopy();
    throw error;
  }
}
