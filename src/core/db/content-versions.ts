import { type Kysely, sql } from "kysely";
import { CoalescedRead } from "../coalesced-read.ts";
import type { Database, PgliteDatabase, PostgresDatabase } from "./connect.ts";
import type { DB } from "./schema.ts";

/* The content versions (migrations/0033_content_versions.sql): 'site' changes with every statement that
 * can change what the public site serves, 'access' with every one that can change who a session is and
 * what its member may see. A process keeps what it read under the version it read it with and uses it
 * only while a fresh read of the versions returns the same value (on the embedded engine, while nothing
 * has run on the database since the last read: contentVersionsReader). */

/** The versions and the database's clock, read in one statement. */
export interface ContentVersions {
  site: string;
  access: string;
  /** The database's now() for this read: what session lifetimes and role terms are compared with. */
  now: Date;
}

/** One statement over the table's two rows: no index to plan for (on PGlite, planning a primary-key
 * lookup costs several times this whole read), about the cost of `SELECT 1`. */
const READ = "SELECT name, version, now() AS now FROM content_versions";

/** The versions, read through Kysely (either engine). */
export async function readContentVersions(db: Kysely<DB>): Promise<ContentVersions> {
  const { rows } = await sql.raw<{ name: string; version: string; now: Date }>(READ).execute(db);
  return versionsOf(rows.map((r) => [r.name, r.version, r.now]));
}

/** The versions on a PostgreSQL server, as a prepared statement (preparedRows): what every request's
 * read costs there. */
async function readPreparedVersions(database: PostgresDatabase): Promise<ContentVersions> {
  return versionsOf(await database.preparedRows("clubos_content_versions", READ));
}

function versionsOf(rows: unknown[][]): ContentVersions {
  const of = (name: string) => {
    const row = rows.find((r) => r[0] === name);
    if (!row) throw new Error(`content_versions has no '${name}' row`);
    return row;
  };
  const site = of("site");
  return { site: site[1] as string, access: of("access")[1] as string, now: new Date(site[2] as Date) };
}

/** The SQL of one version, for a statement that keeps its rows under the version of its own snapshot. */
export const contentVersionOf = (name: "site" | "access") =>
  sql<string>`(SELECT version FROM content_versions WHERE name = ${name})`;

/** What requests ask for the versions through: never an answer older than the request. */
export interface ContentVersionsReader {
  get(): Promise<ContentVersions>;
}

/** A process's reader of the versions: concurrent requests share one read, and each gets a read sent
 * after it asked (CoalescedRead), so what it is given is never older than its request. On the embedded
 * engine, which only this process uses, the last read's answer is given again while nothing at all has
 * run on the database since that read (embeddedVersions). */
export function contentVersionsReader(database: Database): ContentVersionsReader {
  if (database.kind === "pglite") return embeddedVersions(database);
  return new CoalescedRead(() => readPreparedVersions(database));
}

/** The versions on PGlite without a statement per request. A read that was the only use of the
 * connection from its start to its end (one lending) is what the database holds for as long as the
 * connection is not lent again: no statement, write or transaction ran since, so a fresh read would
 * return the same rows. Its clock is this process's own, which is PGlite's. A read that shared the
 * connection's time with anything else is given to its callers and not kept. */
function embeddedVersions(database: PgliteDatabase): ContentVersionsReader {
  let kept: { versions: ContentVersions; lendings: number } | undefined;
  const shared = new CoalescedRead(async () => {
    const before = database.lendings();
    const versions = await readContentVersions(database.db);
    kept = database.lendings() === before + 1 ? { versions, lendings: before + 1 } : undefined;
    return versions;
  });
  return {
    get(): Promise<ContentVersions> {
      if (kept && kept.lendings === database.lendings())
        return Promise.resolve({ ...kept.versions, now: new Date() });
      return shared.get();
    },
  };
}
