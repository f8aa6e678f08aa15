import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { DB } from "../../src/core/db/schema.ts";
import { hashSecret } from "../../src/core/secrets.ts";

/** Members with the member role and a bearer token each, inserted in bulk in a tier (benchmark setup
 * only: no password hashing, so tens of thousands are cheap); returns their tokens. */
export async function seedTokenMembers(
  db: Kysely<DB>,
  count: number,
  prefix: string,
  tier: string | null = null,
): Promise<string[]> {
  const tokens: string[] = [];
  for (let start = 0; start < count; start += 2000) {
    const n = Math.min(2000, count - start);
    const secrets = Array.from({ length: n }, () => `cos_${randomBytes(24).toString("base64url")}`);
    tokens.push(...secrets);
    await sql`WITH m AS (
        INSERT INTO members (name, email, tier_key) SELECT 'Bench ' || i, ${prefix} || i || '@example.org', ${tier}::text
        FROM generate_series(${start}::int, ${start + n - 1}::int) i RETURNING id, email),
      numbered AS (SELECT id, row_number() OVER (ORDER BY email) AS rn FROM m),
      r AS (INSERT INTO role_assignments (member_id, role_key, granted_by) SELECT id, 'member', 'system:bench' FROM m)
      INSERT INTO api_tokens (member_id, name, token_hash)
      SELECT numbered.id, 'bench', h.hash FROM numbered JOIN unnest(${secrets.map(hashSecret)}::text[]) WITH ORDINALITY AS h(hash, rn) USING (rn)`.execute(
      db,
    );
  }
  return tokens;
}
