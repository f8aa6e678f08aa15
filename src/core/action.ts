import { sql, type Transaction } from "kysely";
import { type Access, assertCapability, assertPolicy } from "./access.ts";
import type { Actor } from "./actor.ts";
import { type AuditDraft, type OutboxDraft, writeAuditEntry } from "./audit.ts";
import type { Database } from "./db/connect.ts";
import type { DB } from "./db/schema.ts";
import { ClubError, sqlState, stateUnknown } from "./errors.ts";
import { actionCounter } from "./metrics.ts";
import {
  type ActionEffect,
  modeRefusal,
  readSystemState,
  type SystemState,
  stateFromRefusal,
} from "./modes.ts";

export type { ActionEffect, OutboxDraft };

/** An audit entry (with its outbox messages) that the action's own statement already wrote through
 * clubos_audit_write, with the context from auditContext(). Only for a statement that holds a hot lock:
 * writing the entry inside it spares every member queued on that lock a round trip (registration). */
export interface AuditWritten {
  writtenId: string;
}

/** What an action's body returns: its result, its one audit entry and any outbox messages. */
export interface ActionOutcome<O> {
  result: O;
  audit: AuditDraft | AuditWritten;
  outbox?: OutboxDraft[];
}

/** What an action's body may use: the open transaction, who acts, and the action's effect. */
export interface ActionScope {
  trx: Transaction<DB>;
  actor: Actor;
  /** Read at the start for recovery actions only (null if unreadable); every other action's mode check
   * happens in the statement that writes its audit entry (clubos_audit_write). */
  state: SystemState | null;
  requestId: string | undefined;
  effect: ActionEffect;
  outboxMaxDepth?: number;
  /** The club's name (CLUBOS_CLUB_NAME), signed under every message an action writes. */
  clubName: string;
  /** The club's address (CLUBOS_PUBLIC_URL), for links in the messages an action writes. */
  publicUrl?: string;
}

/** A use case: its access, its effect, one transaction, one audit entry. */
export interface ActionSpec<I, O> {
  name: string;
  /** Who may run it: a capability, a resource policy checked inside the transaction, or both. The input
   * type comes from run; a policy may read a part of it. */
  access: Access<NoInfer<I>>;
  effect: ActionEffect;
  /** For a change that may already be in place (a second tap on "check in"): its current result, read
   * under the lock run would take; the action then ends there and writes nothing, audit included. */
  unchanged?(scope: ActionScope, input: I): Promise<O | undefined>;
  run(scope: ActionScope, input: I): Promise<ActionOutcome<O>>;
}

/** Declares an action; the identity function keeps the types. */
export function defineAction<I, O>(spec: ActionSpec<I, O>): ActionSpec<I, O> {
  return spec;
}

/** Runs another action's body inside this action's transaction, after that action's own access checks
 * (capability and policy, with this transaction): how an action that applies many changes (an import
 * applying a row) reuses another's rules without skipping who may make them. The caller writes the
 * audit entry the body returns. */
export async function runNested<I, O>(
  scope: ActionScope,
  spec: ActionSpec<I, O>,
  input: I,
): Promise<ActionOutcome<O>> {
  assertCapability(spec.access, scope.actor);
  await assertPolicy(spec.access, { db: scope.trx, actor: scope.actor }, input);
  return spec.run(scope, input);
}

/** Where and as whom an action runs. */
export interface ActionEnv {
  database: Database;
  actor: Actor;
  requestId?: string;
  /** Called after a successful commit (the audit sealer listens here). */
  afterCommit?: () => void;
  /** The outbox bound for optional mail (C-2), from CLUBOS_OUTBOX_MAX_DEPTH. */
  outboxMaxDepth?: number;
  /** The club's name (CLUBOS_CLUB_NAME): every message names the club it comes from. */
  clubName: string;
  /** The club's address (CLUBOS_PUBLIC_URL): links in messages start with it. */
  publicUrl?: string;
}

const RETRYABLE = new Set(["40001", "40P01"]); // serialization failure, deadlock
const MAX_ATTEMPTS = 4;

/** Refuses the action when the mode or a switch forbids it (W-8, D-3), for steps that check the mode
 * themselves (an import's plan, before any action runs). */
export function assertModeAllows(effect: ActionEffect, state: SystemState | null): void {
  const refusal = modeRefusal(effect, state);
  if (refusal) throw refusal;
}

/** The state as seen inside a recovery action's transaction, or null if it cannot be read. A failed read
 * aborts a PostgreSQL transaction, so a recovery action (which runs even then) reads under a savepoint it
 * can roll back to. */
async function readStateForRecovery(trx: Transaction<DB>): Promise<SystemState | null> {
  await sql`SAVEPOINT clubos_mode_check`.execute(trx);
  try {
    const state = await readSystemState(trx);
    await sql`RELEASE SAVEPOINT clubos_mode_check`.execute(trx);
    return state;
  } catch {
    await sql`ROLLBACK TO SAVEPOINT clubos_mode_check`.execute(trx);
    return null;
  }
}

/** The refusal a mode check in SQL raised (clubos_audit_write: CB001 with the state it saw, CB003 no
 * state), as the error users see, built by the same modeRefusal the routes use; undefined for any
 * other error. */
function refusalFromSql(error: unknown, effect: ActionEffect): ClubError | undefined {
  const code = sqlState(error);
  if (code === "CB003") return stateUnknown();
  if (code !== "CB001") return undefined;
  const state = stateFromRefusal(JSON.parse((error as Error).message));
  // The SQL refused; should the two ever disagree, refusing is the safe answer (fail closed).
  return modeRefusal(effect, state) ?? stateUnknown();
}

/** Whether the mode can be read at all, asked after a database error: an action whose transaction failed
 * because the state is unreadable is refused as such (fail closed), not reported as a fault. */
async function stateReadable(database: Database): Promise<boolean> {
  return readSystemState(database.db).then(
    () => true,
    () => false,
  );
}

/** Extra steps inside the action's transaction (idempotency keys use them). */
export interface TransactionHooks<O, R> {
  /** Runs first, after the policy; a value ends the action there with nothing written (so no mode check
   * is needed). */
  before?(trx: Transaction<DB>): Promise<R | undefined>;
  /** Runs after the audit entry and outbox rows, in the same transaction; its value is returned. */
  after(trx: Transaction<DB>, result: O): Promise<R>;
}

/** Runs an action (W-1, W-2, W-7, W-8): capability, then one transaction holding the domain writes, the
 * audit entry with the mode check, and the outbox rows. Any failure rolls all of it back. */
export function runAction<I, O>(env: ActionEnv, spec: ActionSpec<I, O>, input: I): Promise<O> {
  return runActionWith(env, spec, input, { after: async (_trx, result) => result });
}

/** runAction with hooks inside the same transaction. */
export async function runActionWith<I, O, R>(
  env: ActionEnv,
  spec: ActionSpec<I, O>,
  input: I,
  hooks: TransactionHooks<O, R>,
): Promise<R> {
  const { actor } = env;
  try {
    assertCapability(spec.access, actor);
  } catch (error) {
    actionCounter.inc({ action: spec.name, outcome: "denied" });
    throw error;
  }
  for (let attempt = 1; ; attempt++) {
    let denied = false;
    try {
      let wrote = true;
      const result = await env.database.db.transaction().execute(async (trx) => {
        const state = spec.effect === "recovery" ? await readStateForRecovery(trx) : null;
        // The policy first: nothing, not even a stored reply, goes to someone it does not admit.
        await assertPolicy(spec.access, { db: trx, actor }, input).catch((error) => {
          denied = error instanceof ClubError;
          throw error;
        });
        const early = await hooks.before?.(trx);
        if (early !== undefined) {
          wrote = false;
          return early;
        }
        const scope: ActionScope = {
          trx,
          actor,
          state,
          requestId: env.requestId,
          effect: spec.effect,
          outboxMaxDepth: env.outboxMaxDepth,
          clubName: env.clubName,
          publicUrl: env.publicUrl,
        };
        const unchanged = await spec.unchanged?.(scope, input);
        if (unchanged !== undefined) {
          wrote = false;
          return hooks.after(trx, unchanged);
        }
        const outcome = await spec.run(scope, input);
        if ("writtenId" in outcome.audit) {
          // Its statement wrote the entry and its messages; more messages here would skip the audit link.
          if (outcome.outbox?.length)
            throw new Error(`${spec.name}: outbox rows go in the written statement.`);
        } else {
          await writeAuditEntry(trx, scope, outcome.audit, outcome.outbox);
        }
        return hooks.after(trx, outcome.result);
      });
      actionCounter.inc({ action: spec.name, outcome: wrote ? "committed" : "replayed" });
      if (wrote) env.afterCommit?.();
      return result;
    } catch (error) {
      const state = sqlState(error);
      if (state && RETRYABLE.has(state) && attempt < MAX_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
        continue;
      }
      if (denied) {
        actionCounter.inc({ action: spec.name, outcome: "denied" });
        throw error;
      }
      const refusal = refusalFromSql(error, spec.effect);
      if (refusal) {
        actionCounter.inc({ action: spec.name, outcome: "refused" });
        throw refusal;
      }
      actionCounter.inc({ action: spec.name, outcome: "failed" });
      // A system_state that is gone or forbidden fails the audit write with class 42 (undefined table,
      // insufficient privilege); a lost connection keeps its own error.
      if (spec.effect !== "recovery" && state?.startsWith("42") && !(await stateReadable(env.database)))
        throw stateUnknown();
      throw error;
    }
  }
}
