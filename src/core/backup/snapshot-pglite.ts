import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { PgliteDatabase } from "../db/connect.ts";
import { sessionSql } from "./format.ts";
import { describeSnapshot, type Snapshot, tableSelect } from "./snapshot.ts";

type Reply = { id: number; rows?: unknown[]; bytes?: ArrayBuffer; error?: string; done?: boolean };

/** Dumps the data folder while holding the one connection (so no transaction is half-way through it:
 * the copy is what a clean stop would leave), then reads it in a worker thread: the server's
 * connection is busy only for the dump, not for the export. */
export async function openPgliteSnapshot(database: PgliteDatabase): Promise<Snapshot> {
  const tar = await database.db.connection().execute(async () => {
    const file = await database.pglite.dumpDataDir("none");
    return file.arrayBuffer();
  });
  const worker = new Worker(new URL("./pglite-worker.mjs", import.meta.url), {
    workerData: { tar, session: sessionSql() },
    transferList: [tar],
  });
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
  const ask = (type: "query" | "copy" | "close", sql = ""): Promise<Reply> => {
    if (failed) return Promise.reject(failed);
    const id = next++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, type, sql });
    });
  };
  try {
    await ready;
    const info = await describeSnapshot(async <R>(text: string) => (await ask("query", text)).rows as R[]);
    return {
      lanes: 1,
      info,
      async copyOut(table) {
        const reply = await ask("copy", tableSelect(table));
        return Readable.from([Buffer.from(reply.bytes ?? new ArrayBuffer(0))]);
      },
      async close() {
        await ask("close").catch(() => {});
        await worker.terminate();
      },
    };
  } catch (error) {
    await worker.terminate();
    throw error;
  }
}
