// The PGlite side of a backup, in a worker thread: it opens the copy of the data folder in a
// PGlite of its own and answers the main thread's queries and COPYs there, so the server's own
// connection is held only while the copy is finished. Plain JavaScript, so the compiled clubos command (which has no
// TypeScript loader) can start it too. Protocol: {id, type: "query"|"copy", sql, params} ->
// {id, rows|bytes|error}.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";

// A copy of the data folder on disk (the server's snapshot), or a dump of an in-memory database.
const db = workerData.dataDir
  ? await PGlite.create(workerData.dataDir, { extensions: { pg_trgm } })
  : await PGlite.create({ loadDataDir: new Blob([workerData.tar]), extensions: { pg_trgm } });
await db.exec(workerData.session);
parentPort.on("message", async (message) => {
  try {
    if (message.type === "close") {
      await db.close();
      parentPort.postMessage({ id: message.id, done: true });
      parentPort.close();
      return;
    }
    if (message.type === "query") {
      const result = await db.query(message.sql, message.params ?? []);
      parentPort.postMessage({ id: message.id, rows: result.rows });
      return;
    }
    const result = await db.query(`COPY (${message.sql}) TO '/dev/blob'`);
    const bytes = result.blob ? await result.blob.arrayBuffer() : new ArrayBuffer(0);
    parentPort.postMessage({ id: message.id, bytes }, [bytes]);
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
parentPort.postMessage({ ready: true });
