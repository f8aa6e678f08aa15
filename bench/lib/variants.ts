import { createHash } from "node:crypto";
import { sql, type Transaction } from "kysely";
import { type ActionEnv, type ActionSpec, defineAction, runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { AUDIT_SEQ_LOCK } from "../../src/core/audit.ts";
import { sealAuditChain } from "../../src/core/audit-chain.ts";
import { AuditSealer } from "../../src/core/audit-sealer.ts";
import type { Database } from "../../src/core/db/connect.ts";
import type { DB } from "../../src/core/db/schema.ts";

/** The ways of keeping the audit chain that the benchmark compares; L is an optional diagnostic that
 * splits B's cost into the shared lock alone (L/A) and the sealer on top (B/L). */
export type Variant = "A" | "B" | "C" | "L";

/** What each variant is, for the printed table. */
export const VARIANT_LABELS: Record<Variant, string> = {
  A: "A: audit entry, no chaining",
  B: "B: shipped (shared lock + sealer)",
  C: "C: chain head FOR UPDATE in tx",
  L: "L: shared lock only, no sealer",
};

const actor = operatorActor("bench");

/** Variant B only: entries still unsealed when the window closed, and how long the final seal took. */
export interface SealStats {
  backlog: number;
  drainMs: number;
}

/** Per-run state a variant needs while the clients run, and how to finish it. */
export interface VariantRun {
  env: ActionEnv;
  spec: ActionSpec<{ memberId: string; n: number }, void>;
  /** Stops whatever ran alongside the clients; for B, how far the sealer was behind and caught up. */
  finish(): Promise<SealStats | null>;
}

/** Creates one member per client (each client renames only its own row, so the only contention
 * measured is the audit design's) and the chain-head table used by variant C alone. */
export async function seedBenchDatabase(database: Database, clients: number): Promise<string[]> {
  const rows = await database.db
    .insertInto("members")
    .values(
      Array.from({ length: clients }, (_, i) => ({ name: `Bench ${i}`, email: `bench${i}@example.org` })),
    )
    .returning("id")
    .execute();
  await sql`CREATE TABLE bench_chain_head (id smallint PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL,
    chain_hash text NOT NULL)`.execute(database.db);
  await sql`INSERT INTO bench_chain_head VALUES (1, 0, ${"0".repeat(64)})`.execute(database.db);
  return rows.map((r) => r.id);
}

/** The domain write shared by all variants: rename one member, audited with before and after. */
async function rename(trx: Transaction<DB>, input: { memberId: string; n: number }) {
  const name = `Bench member ${input.n}`;
  await trx.updateTable("members").set({ name }).where("id", "=", input.memberId).execute();
  return {
    action: "bench.rename_member",
    subjectType: "member",
    subjectId: input.memberId,
    before: { name: `Bench member ${input.n - 1}` },
    after: { name },
  };
}

const plainRename = defineAction<{ memberId: string; n: number }, void>({
  name: "bench.rename_member",
  access: { capability: "members:write" },
  effect: "write",
  async run({ trx }, input) {
    return { result: undefined, audit: await rename(trx, input) };
  },
});

/* Variant C: the design that was rejected. The chain head is locked after the domain write (the
 * shortest hold possible, as the audit insert comes last) and held through commit and its fsync, so
 * every action waits for the previous one's commit. The hash covers the draft, which is what an
 * in-transaction chain would have to hash. */
const chainedRename = defineAction<{ memberId: string; n: number }, void>({
  name: "bench.rename_member",
  access: { capability: "members:write" },
  effect: "write",
  async run({ trx }, input) {
    const audit = await rename(trx, input);
    const { rows } = await sql<{
      chain_hash: string;
    }>`SELECT chain_hash FROM bench_chain_head WHERE id = 1 FOR UPDATE`.execute(trx);
    const next = createHash("sha256")
      .update(rows[0]!.chain_hash + JSON.stringify(audit))
      .digest("hex");
    await sql`UPDATE bench_chain_head SET seq = seq + 1, chain_hash = ${next} WHERE id = 1`.execute(trx);
    return { result: undefined, audit };
  },
});

/* Variants A and C measure an audit entry without the shared seal lock, which exists only for the
 * sealer. Production code always takes it, so the benchmark's own throwaway database gets its own
 * clubos_audit_write while they run: the installed definition with the lock statement replaced by a
 * no-op, so the two differ by that statement only. B and L get the installed definition back. */
const LOCK_STATEMENT = new RegExp(`PERFORM pg_advisory_xact_lock_shared\\(${AUDIT_SEQ_LOCK}\\);`, "g");
const auditWrites = new WeakMap<Database, { withLock: string; withoutLock: string }>();

async function useSealLock(database: Database, on: boolean): Promise<void> {
  let defs = auditWrites.get(database);
  if (!defs) {
    const { rows } = await sql<{
      def: string;
    }>`SELECT pg_get_functiondef('clubos_audit_write'::regproc) AS def`.execute(database.db);
    const withLock = rows[0]!.def;
    const withoutLock = withLock.replace(LOCK_STATEMENT, "NULL; -- bench: no seal lock");
    if (withoutLock === withLock) {
      throw new Error(
        `clubos_audit_write no longer takes the seal lock with pg_advisory_xact_lock_shared(${AUDIT_SEQ_LOCK}): ` +
          "update the no-lock variant in bench/lib/variants.ts to what it does now.",
      );
    }
    defs = { withLock, withoutLock };
    auditWrites.set(database, defs);
  }
  await sql.raw(on ? defs.withLock : defs.withoutLock).execute(database.db);
}

async function unsealed(database: Database): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM audit_log
    WHERE seq > coalesce((SELECT max(seq) FROM audit_chain), 0)`.execute(database.db);
  return Number(rows[0]?.n ?? 0);
}

/** Prepares a variant for one run. Before every run the backlog of earlier runs is sealed (untimed,
 * with no writers) so B's sealer never starts behind and all runs see the same table sizes. */
export async function startVariant(
  variant: Variant,
  database: Database,
  backupDir: string,
): Promise<VariantRun> {
  await useSealLock(database, variant === "B" || variant === "L");
  await sealAuditChain(database, backupDir);
  if (variant === "B") {
    const sealer = new AuditSealer(database, backupDir);
    sealer.start(); // as serve.ts does: the sweep timer next to the after-commit schedule
    return {
      env: { database, actor, afterCommit: sealer.schedule, clubName: "Bench Club" },
      spec: plainRename,
      async finish() {
        const backlog = await unsealed(database);
        const t0 = Date.now();
        await sealer.stop();
        const drainMs = Date.now() - t0;
        const left = await unsealed(database);
        if (left !== 0)
          throw new Error(`Variant B left ${left} audit entries unsealed after the sealer stopped.`);
        return { backlog, drainMs };
      },
    };
  }
  // A and C have no sealer running, so the shared lock (which exists only for the sealer) is off; L keeps
  // it, and is safe because no sealer runs until the next untimed catch-up, after its writers finished.
  return {
    env: { database, actor, clubName: "Bench Club" },
    spec: variant === "C" ? chainedRename : plainRename,
    async finish() {
      return null;
    },
  };
}

/** Runs one action of the variant for a client. */
export function actionFor(run: VariantRun, memberIds: string[]) {
  let n = 0;
  return (client: number) => runAction(run.env, run.spec, { memberId: memberIds[client]!, n: ++n });
}
