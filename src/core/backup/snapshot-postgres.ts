import type { Readable } from "node:stream";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { sessionSql } from "./format.ts";
import { describeSnapshot, type Snapshot, tableSelect } from "./snapshot.ts";
import { snapshotReader } from "./snapshot-reader.ts";

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: "clubos-backup" });
  c.on("error", () => {}); // a dropped connection fails the COPY in flight, which fails the backup
  await c.connect();
  await c.query(sessionSql());
  return c;
}

/** One connection exports its snapshot (REPEATABLE READ, READ ONLY, kept open until close) and the
 * lanes import it, so every table is read as of the same instant while the server keeps writing. */
export async function openPostgresSnapshot(url: string, lanes: number): Promise<Snapshot> {
  const exporter = await client(url);
  const readers: pg.Client[] = [];
  const close = async () => {
    await Promise.all([exporter, ...readers].map((c) => c.end().catch(() => {})));
  };
  try {
    await exporter.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const { rows } = await exporter.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
    const snapshotId = rows[0]!.id;
    const info = await describeSnapshot(async (text) => (await exporter.query(text)).rows);
    const count = Math.max(1, Math.min(lanes, info.tables.length));
    for (let i = 0; i < count; i++) {
      const reader = await client(url);
      readers.push(reader);
      await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await reader.query(`SET TRANSACTION SNAPSHOT '${snapshotId.replace(/'/g, "")}'`);
    }
    return {
      lanes: count,
      info,
      reader: snapshotReader(async (text, params) => (await exporter.query(text, [...params])).rows),
      async copyOut(table, lane) {
        return readers[lane]!.query(copyTo(`COPY (${tableSelect(table)}) TO STDOUT`)) as Readable;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
