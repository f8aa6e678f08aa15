import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { PgliteDatabase } from "../db/connect.ts";
import { ClubError, sqlState } from "../errors.ts";
import { BACKUP_ERRORS } from "./errors.ts";
import { type Manifest, quoteIdent, sessionStatements, type TableEntry } from "./format.ts";
import { readTableFile, tapCopyText } from "./table-file.ts";

/** A connection a restore loads through: its statements and COPY. */
export interface Loader {
  query<R>(text: string): Promise<R[]>;
  /** Loads the rows; gives the count the target reports storing (COPY's own reply). */
  copyIn(text: string, source: Readable): Promise<number>;
}

/** A second connection to the target, beside the restore's transaction (PostgreSQL only): it loads a
 * table the transaction does not see until it takes it over. */
export interface Lane extends Loader {
  close(): Promise<void>;
}

/** The restore's one open transaction on the target, whichever engine it is. */
export interface Target extends Loader {
  copyOut(text: string): Promise<Readable>;
  /** Opens a lane; absent where the engine has one connection (PGlite). */
  openLane?: () => Promise<Lane>;
  /** Runs fn once the transaction has ended, committed or not (what must not wait on its locks). */
  afterEnd(fn: () => Promise<void>): void;
}

/** How a lane's connection names itself: a restore's cleanup stops only those. */
export const LANE_NAME = "clubos-restore-lane";

async function connect(url: string, name: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: name });
  client.on("error", () => {});
  await client.connect();
  return client;
}

function loaderOf(client: pg.Client): Loader {
  return {
    query: async (text) => (await client.query(text)).rows,
    copyIn: async (text, source) => {
      const copy = client.query(copyFrom(text));
      await pipeline(source, copy);
      return copy.rowCount;
    },
  };
}

/** BEGIN, the body, then COMMIT (ROLLBACK when it failed); what the body asked to run once the
 * transaction ended runs then, committed or not. */
async function inTransaction<T>(
  run: (text: string) => Promise<unknown>,
  target: Omit<Target, "afterEnd">,
  body: (t: Target) => Promise<T>,
): Promise<T> {
  const after: Array<() => Promise<void>> = [];
  await run("BEGIN");
  try {
    const result = await body({ ...target, afterEnd: (fn) => after.push(fn) });
    await run("COMMIT");
    return result;
  } catch (error) {
    await run("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    for (const fn of after) await fn().catch(() => {});
  }
}

export async function inPostgres<T>(url: string, body: (t: Target) => Promise<T>): Promise<T> {
  const client = await connect(url, "clubos-restore");
  try {
    return await inTransaction(
      (text) => client.query(text),
      {
        ...loaderOf(client),
        copyOut: async (text) => client.query(copyTo(text)),
        openLane: async () => {
          const lane = await connect(url, LANE_NAME);
          for (const statement of sessionStatements()) await lane.query(statement);
          return { ...loaderOf(lane), close: () => lane.end().catch(() => {}) };
        },
      },
      body,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export async function inPglite<T>(target: PgliteDatabase, body: (t: Target) => Promise<T>): Promise<T> {
  const { pglite } = target;
  // Holding Kysely's one connection: nothing else runs on the database until the restore ends.
  return target.db.connection().execute(() =>
    inTransaction(
      (text) => pglite.exec(text),
      {
        query: async <R>(text: string) => (await pglite.query<R>(text)).rows,
        copyIn: async (text, source) => {
          const parts: Buffer[] = [];
          for await (const part of source) parts.push(part as Buffer);
          const result = await pglite.query(text.replace(/FROM STDIN\b/, "FROM '/dev/blob'"), [], {
            blob: new Blob(parts as unknown as BlobPart[]),
          });
          return result.affectedRows ?? -1;
        },
        copyOut: async (text) => {
          const result = await pglite.query(text.replace(/TO STDOUT$/, "TO '/dev/blob'"));
          return Readable.from([
            Buffer.from(result.blob ? await result.blob.arrayBuffer() : new ArrayBuffer(0)),
          ]);
        },
      },
      body,
    ),
  );
}

/** Loads one table's rows from the bundle into relation (emptied in this transaction when freeze),
 * hashing and counting the bytes on the way in: the bytes must be the manifest's and the target must
 * report storing exactly the manifest's rows, or the restore is undone. */
export async function loadTable(
  loader: Loader,
  relation: string,
  table: TableEntry,
  bundle: { dir: string; manifest: Manifest; key: Buffer | null },
  freeze: boolean,
): Promise<void> {
  const { manifest } = bundle;
  const cols = table.columns.map(quoteIdent).join(", ");
  const source = readTableFile(path.join(bundle.dir, table.file), {
    key: bundle.key,
    label: table.file,
    compression: manifest.compression,
  });
  let unreadable: Error | undefined;
  source.on("error", (error) => {
    unreadable ??= error;
  });
  const tap = tapCopyText(source);
  // FREEZE where the table was emptied in this transaction (PostgreSQL allows it only then): its rows
  // are written already frozen (no hint-bit rewrite of the whole table on first read).
  const options = freeze ? " WITH (FREEZE true)" : "";
  let stored: number;
  try {
    stored = await loader.copyIn(`COPY ${relation} (${cols}) FROM STDIN${options}`, tap.stream);
  } catch (error) {
    if (unreadable instanceof ClubError) throw unreadable;
    // Bytes that do not decompress, or that decompress into rows this table cannot hold (a data or
    // constraint error of the COPY): the file is not what was written.
    const refused = /^2[23]/.test(sqlState(error) ?? "");
    if (unreadable || refused) {
      throw BACKUP_ERRORS.backup_damaged(
        `The file ${table.file} of backup ${manifest.id} cannot be ${unreadable ? "read" : `loaded into ${table.name}`} ` +
          `(${(unreadable ?? (error as Error)).message}). The restore was undone; the database is as it was. ` +
          "Verify the backup (`clubos backup verify ID`) and use another one, or its off-site copy.",
      );
    }
    throw error;
  }
  const loaded = tap.measured();
  if (loaded.rows !== table.rows || loaded.sha256 !== table.plaintextSha256) {
    throw BACKUP_ERRORS.backup_damaged(
      `The data of ${table.name} in backup ${manifest.id} is not what its manifest recorded ` +
        `(${loaded.rows} rows read, ${table.rows} in the manifest, checksum ${loaded.sha256 === table.plaintextSha256 ? "equal" : "different"}). ` +
        "The restore was undone; the database is as it was. Use another backup, or its off-site copy.",
    );
  }
  // The table was empty (or emptied) in this transaction and only this COPY wrote to it: the rows the
  // target reports storing are the rows it holds (no count(*) scan of it afterwards).
  if (stored !== table.rows) {
    throw BACKUP_ERRORS.backup_damaged(
      `Loading ${table.name} from backup ${manifest.id} stored ${stored} rows, but the manifest has ` +
        `${table.rows}. The restore was undone; the database is as it was. ` +
        "Check the target database for triggers or rules of its own, or restore into a fresh one.",
    );
  }
}
