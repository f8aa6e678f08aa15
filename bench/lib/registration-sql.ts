import { sql } from "kysely";
import type { Database } from "../../src/core/db/connect.ts";

/* The registration's own SQL, run by pgbench with no Node.js in the way: the same statements the server
 * sends for one POST (the token lookup with roles, BEGIN, the member and event read, clubos_register,
 * COMMIT), each client taking the next seeded member. Beside the HTTP figure it shows how much of a
 * registration's cost is the database's and how much is the server's. Bench database only. */

/** A numbered list of the seeded members with their token hashes, and a counter to walk it. */
export async function prepareRegistrationSql(database: Database): Promise<void> {
  await sql`CREATE TABLE bench_members AS
    SELECT row_number() OVER (ORDER BY t.token_hash) AS n, t.member_id AS id, t.token_hash
    FROM api_tokens t`.execute(database.db);
  await sql`CREATE UNIQUE INDEX ON bench_members (n)`.execute(database.db);
  await sql`CREATE SEQUENCE bench_member_seq`.execute(database.db);
}

/** Restarts the walk, for a fresh event (a member registers once per event). */
export async function restartRegistrationSql(database: Database): Promise<void> {
  await sql`SELECT setval('bench_member_seq', 1, false)`.execute(database.db);
}

// pgbench reads ":name" as a variable, so the JSON below never has a colon right before a letter.
const AUDIT = `{"effect": "write", "sealLock": true, "actorType": "member", "actorId": "member-bench", "requestId": "bench", "after": {"guests": 0}}`;
const CONFIRMED = `{"topic": "registration.confirmed", "recipient": "bench@example.org", "subject": "You are registered", "body": "Hello", "payload": {}}`;
const WAITLISTED = `{"topic": "registration.waitlisted", "recipient": "bench@example.org", "subject": "Waitlist", "bodyBefore": "You are number ", "bodyAfter": ".", "payload": {}}`;

/** The pgbench script for one registration for the event (its version must be 1: a fresh event). */
export function registrationSqlScript(eventId: string): string {
  // currval is volatile: inside a scalar sub-select it is read once, so the lookup can use the index.
  const member = "(SELECT id FROM bench_members WHERE n = (SELECT currval('bench_member_seq')))";
  return `SELECT t.id, m.name, ARRAY(SELECT DISTINCT ra.role_key FROM role_assignments ra
  WHERE ra.member_id = m.id AND ra.starts_at <= now() AND (ra.ends_at IS NULL OR ra.ends_at > now()) ORDER BY 1)
  FROM api_tokens t JOIN members m ON m.id = t.member_id
  WHERE t.token_hash = (SELECT token_hash FROM bench_members WHERE n = (SELECT nextval('bench_member_seq')));
BEGIN;
SELECT m.name, m.email, e.title, e.starts_at, e.location, e.version FROM members m CROSS JOIN events e
  WHERE m.id = ${member} AND m.deleted_at IS NULL AND e.id = '${eventId}' AND e.status <> 'draft';
SELECT * FROM clubos_register(gen_random_uuid(), '${eventId}', ${member}, '{}', 1,
  '${AUDIT}', '${CONFIRMED}', '${WAITLISTED}');
END;
`.replace(/\n {2}/g, " ");
}
