import { sql } from "kysely";
import type { CliEnv } from "../../src/app/cli.ts";
import { runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { defineAction, runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { sealAuditChain } from "../../src/core/audit-chain.ts";
import type { Database } from "../../src/core/db/connect.ts";

class Rollback extends Error {}

/** Runs fn as a superuser with triggers and foreign keys off (session_replication_role = replica),
 * inside a transaction that is always rolled back: the bad state is seen by fn, never by other tests.
 * fn must use only the Database it is given (on PGlite another handle would wait for this one). */
export async function tampered<T>(database: Database, fn: (db: Database) => Promise<T>): Promise<T> {
  let value: T | undefined;
  await database.db
    .transaction()
    .execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      value = await fn({ ...database, db: trx });
      throw new Rollback();
    })
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  return value as T;
}

/** Like tampered, but commits: for tests that need the bad state outside one transaction (CLI runs).
 * The caller must repair what it broke. */
export function tamperCommitted<T>(database: Database, fn: (db: Database) => Promise<T>): Promise<T> {
  return database.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(trx);
    return fn({ ...database, db: trx });
  });
}

/** Seals (and anchors in backupDir, as the server does) until nothing is left unsealed (a sealer
 * already busy makes one call return 0). */
export async function sealAll(database: Database, backupDir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await sealAuditChain(database, backupDir);
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM audit_log
      WHERE seq > coalesce((SELECT max(seq) FROM audit_chain), 0)`.execute(database.db);
    if (Number(rows[0]?.n) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the audit chain could not be sealed");
}

/** A CliEnv that runs verbs on the test runtime and keeps what they print and their progress lines. */
export function cliEnv(runtime: Runtime): { env: CliEnv; lines: string[]; progress: string[] } {
  const lines: string[] = [];
  const progress: string[] = [];
  const io = {
    out: (s: string) => lines.push(s),
    err: (s: string) => lines.push(s),
    progress: (s: string) => progress.push(s),
  };
  return { env: { io, config: runtime.config, withRuntime: (fn) => fn(runtime) }, lines, progress };
}

/** Runs a clubos verb on the runtime (as the server runs one from the control socket); returns its exit
 * code and everything it printed, one line after another. */
export async function runVerb(
  runtime: Runtime,
  ...argv: string[]
): Promise<{ code: number; output: string }> {
  const { env, lines } = cliEnv(runtime);
  const code = await runCli(argv, env);
  return { code, output: lines.join("\n") };
}

/** A test action writing one audit entry and `messages` outbox rows (written after the entry, which
 * widens the window between taking a seq and committing). failAfterAudit makes its outbox insert fail
 * (topic is NOT NULL), so the transaction rolls back after its entry has taken a seq. */
export const noteAction = defineAction({
  name: "testNote",
  access: { capability: "members:write" },
  effect: "write",
  async run(_scope, input: { label: string; failAfterAudit?: boolean; messages?: number }) {
    const outbox = Array.from({ length: input.messages ?? 0 }, () => ({ topic: "test.noted" }));
    return {
      result: null,
      audit: { action: "test.noted", subjectType: "test", subjectId: input.label },
      outbox: input.failAfterAudit ? [{ topic: null as unknown as string }] : outbox,
    };
  },
});

/** The last seq handed out (0 before the first). */
export async function lastSeq(database: Database): Promise<number> {
  const { rows } = await sql<{ v: number }>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v
    FROM audit_log_seq_seq`.execute(database.db);
  return Number(rows[0]?.v);
}

/** Writes count entries and seals them (anchoring in backupDir); returns their seqs in order. */
export async function sealedEntries(database: Database, backupDir: string, count = 3): Promise<number[]> {
  const env = { database, actor: systemActor("test"), clubName: "Test Club" };
  for (let i = 0; i < count; i++) await runAction(env, noteAction, { label: `entry-${i}` });
  await sealAll(database, backupDir);
  const last = await lastSeq(database);
  return Array.from({ length: count }, (_, i) => last - count + 1 + i);
}
