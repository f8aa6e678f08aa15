import { type Kysely, sql } from "kysely";
import { CoalescedRead } from "../coalesced-read.ts";
import type { DB } from "./schema.ts";

/* The content versions (migrations/0033_content_versions.sql): 'site' changes with every statement that
 * can change what the public site serves, 'access' with every one that can change who a session is and
 * what its member may see. A process keeps what it read under the version it read it with and uses it
 * only while a fresh read of the versions returns the same value. */

/** The versions and the database's clock, read in one statement. */
export interface ContentVersions {
  site: string;
  access: string;
  /** The database's now() for this read: what session lifetimes and role terms are compared with. */
  now: Date;
}

/** One statement over the table's two rows: no index to plan for (on PGlite, planning a primary-key
 * lookup costs several times this whole read), about the cost of `SELECT 1`. */
export async function readContentVersions(db: Kysely<DB>): Promise<ContentVersions> {
  const { rows } = await sql<{ name: string; version: string; now: Date }>`
    SELECT name, version, now() AS now FROM content_versions`.execute(db);
  const of = (name: string) => {
    const row = rows.find((r) => r.name === name);
    if (!row) throw new Error(`content_versions has no '${name}' row`);
    return row;
  };
  return { site: of("site").version, access: of("access").version, now: new Date(of("site").now) };
}

/** The SQL of one version, for a statement that keeps its rows under the version of its own snapshot. */
export const contentVersionOf = (name: "site" | "access") =>
  sql<string>`(SELECT version FROM content_versions WHERE name = ${name})`;

/** A process's reader of the versions: concurrent requests share one read, and each gets a read sent
 * after it asked (CoalescedRead), so what it is given is never older than its request. */
export function contentVersionsReader(db: Kysely<DB>): CoalescedRead<ContentVersions> {
  return new CoalescedRead(() => readContentVersions(db));
}
