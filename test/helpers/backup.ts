import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { anchorAuditChain } from "../../src/core/audit-chain.ts";
import type { Database } from "../../src/core/db/connect.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { sealAll } from "./audit.ts";
import { publishedEvent } from "./events.ts";

/** A member whose name and email are unlikely anywhere else: a leak test looks for them. */
export const SECRET_MEMBER = {
  name: "Zelda Quixotica-Vantwerp",
  email: "zelda.quixotica.vantwerp@example.org",
};

/** Fills the database with a little of everything: members (one easy to recognise), events, audit
 * entries sealed into the chain and anchored in the backup folder. */
export async function seedClub(runtime: Runtime): Promise<{ memberIds: string[] }> {
  const env = runtime.actionEnv(systemActor("test"));
  const memberIds: string[] = [];
  const secret = await runAction(env, createMemberRecord, SECRET_MEMBER);
  memberIds.push(secret.id);
  for (let i = 0; i < 5; i++) {
    const m = await runAction(env, createMemberRecord, {
      name: `Backup Member ${i} ${randomBytes(2).toString("hex")}`,
      email: `backup${i}-${randomBytes(4).toString("hex")}@example.org`,
    });
    memberIds.push(m.id);
  }
  await publishedEvent(runtime, { title: "Backup night", audience: "public" });
  await publishedEvent(runtime, { title: "Members' evening" });
  await sealAll(runtime.database, runtime.config.backupDir);
  await anchorAuditChain(runtime.database, runtime.config.backupDir);
  return { memberIds };
}

/** Every public table's content as md5 of its rows' text in row order, computed by the database itself
 * (independently of the backup code's COPY and hashing), in UTC so both engines print times alike. */
export async function tableDigests(database: Database): Promise<Record<string, string>> {
  return database.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
    const { rows: tables } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('schema_migrations', 'schema_functions')
      ORDER BY 1`.execute(trx);
    const out: Record<string, string> = {};
    for (const { name } of tables) {
      // The content versions' values are meant to change with a restore (restore.ts gives them new ones,
      // so no server reuses what it kept from before): only which versions there are is compared.
      const row = name === "content_versions" ? sql`t.name` : sql`t::text`;
      const { rows } = await sql<{ n: number; digest: string }>`
        SELECT count(*) AS n, md5(coalesce(string_agg(${row}, E'\n' ORDER BY ${row}), '')) AS digest
        FROM ${sql.table(name)} t`.execute(trx);
      out[name] = `${Number(rows[0]!.n)}:${rows[0]!.digest}`;
    }
    return out;
  });
}

/** Every column, constraint, index, trigger, owned sequence and function of schema public, as the
 * catalogue defines them: a restore must leave all of it as the migrations made it. */
export async function schemaOf(database: Database): Promise<string[]> {
  const { rows } = await sql<{ line: string }>`
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
           ' notnull=' || a.attnotnull::text || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') AS line
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint ' || c.relname || '.' || k.conname || ' ' || k.contype::text || ' ' ||
           pg_get_constraintdef(k.oid) || ' validated=' || k.convalidated::text ||
           ' deferrable=' || k.condeferrable::text
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    WHERE k.connamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT 'trigger ' || c.relname || '.' || t.tgname || ' ' || t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    -- The foreign keys' own triggers are named after their oids: counted, and their state compared.
    SELECT 'foreign key triggers ' || c.relname || ' ' || count(*)::text || ' ' || string_agg(DISTINCT t.tgenabled::text, ',')
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND t.tgisinternal
    GROUP BY c.relname
    UNION ALL
    SELECT 'sequence ' || s.relname || ' owned by ' || coalesce(
      (SELECT t.relname || '.' || a.attname FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype = 'a'), '-')
    FROM pg_class s WHERE s.relnamespace = 'public'::regnamespace AND s.relkind = 'S'
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND left(p.proname, 7) = 'clubos_'
    UNION ALL
    SELECT 'schema ' || nspname FROM pg_namespace
    WHERE left(nspname, 3) <> 'pg_' AND nspname NOT IN ('information_schema', 'public')
    ORDER BY 1`.execute(database.db);
  return rows.map((r) => r.line);
}

/** Flips one byte in the middle of a file. */
export function flipByte(file: string, at?: number): void {
  const bytes = fs.readFileSync(file);
  const i = at ?? Math.floor(bytes.length / 2);
  bytes[i] = bytes[i]! ^ 0x40;
  fs.writeFileSync(file, bytes);
}

/** Every file of a folder, recursively, as one buffer (a leak test greps it). */
export function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    parts.push(entry.isDirectory() ? allBytes(full) : fs.readFileSync(full));
  }
  return Buffer.concat(parts);
}

/** A fresh 32-byte key. */
export const newKey = (): Buffer => randomBytes(32);
