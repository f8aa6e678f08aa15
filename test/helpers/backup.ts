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
