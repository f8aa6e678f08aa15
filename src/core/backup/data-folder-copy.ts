import { Worker } from "node:worker_threads";

/* A copy of PGlite's data folder taken while the server keeps answering. PGlite is one connection in
 * the server's own thread, so a copy that holds it (dumpDataDir did: tens of seconds at the benchmark's
 * size, the event loop blocked too) stops every request. Instead, as rsync does: every file is copied
 * first while the server runs (the copy may be torn), then, holding the connection, only what changed
 * since is copied again. What the second pass leaves is the folder exactly as it is at that quiet moment
 * (no statement in flight): the same crash-consistent state dumpDataDir read, opened with the usual
 * recovery from the write-ahead log. Both passes run in a worker thread
 * (data-folder-copy-worker.mjs), so the copy never waits for the server's event loop. */

type Reply = { type: "copied" | "done" | "error"; message?: string; code?: string };

/** Copies the folder `from` into the new folder `to`; `quiet` runs the second pass at a moment when
 * nothing writes to `from` (it is given the pass to run, holding the database's one connection). */
export async function copyDataFolder(
  from: string,
  to: string,
  quiet: (secondPass: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const worker = new Worker(new URL("./data-folder-copy-worker.mjs", import.meta.url), {
    workerData: { from, to },
  });
  const replies: Reply[] = [];
  const waiters: Array<(reply: Reply) => void> = [];
  const deliver = (reply: Reply) => {
    const waiter = waiters.shift();
    if (waiter) waiter(reply);
    else replies.push(reply);
  };
  worker.on("message", deliver);
  worker.on("error", (error: NodeJS.ErrnoException) =>
    deliver({ type: "error", message: error.message, code: error.code }),
  );
  const next = async (expected: Reply["type"]): Promise<void> => {
    const reply = replies.shift() ?? (await new Promise<Reply>((resolve) => waiters.push(resolve)));
    if (reply.type === expected) return;
    throw Object.assign(new Error(reply.message ?? "the data folder copy stopped"), { code: reply.code });
  };
  try {
    await next("copied");
    await quiet(async () => {
      worker.postMessage({ type: "second" });
      await next("done");
    });
  } finally {
    await worker.terminate();
  }
}
