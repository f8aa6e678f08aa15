import { type Kysely, sql } from "kysely";
import { assertModeAllows } from "../../../core/action.ts";
import { type Actor, actorRef } from "../../../core/actor.ts";
import type { Database } from "../../../core/db/connect.ts";
import type { DB } from "../../../core/db/schema.ts";
import { ClubError, notFound } from "../../../core/errors.ts";
import { UUID } from "../../../core/ids.ts";
import { readSystemState } from "../../../core/modes.ts";
import type { ImportPlan } from "./plan.ts";

/** One row's fate when the plan was applied. */
export interface AppliedRow {
  line: number;
  email: string;
  outcome: "created" | "updated" | "unchanged" | "conflict" | "failed";
  message?: string;
}

/** What confirm did, as stored with the import and shown on its page. */
export interface ImportResult {
  counts: Record<AppliedRow["outcome"], number>;
  rows: AppliedRow[];
}

/** A stored import: its plan, and its result once applied. */
export interface StoredImport {
  id: string;
  status: "planned" | "applying" | "applied";
  createdAt: Date;
  appliedAt: Date | null;
  plan: ImportPlan;
  result: ImportResult | null;
}

/** How long a dry run may wait for its confirm: after that the members may have moved too far. */
export const PLAN_TTL_MS = 24 * 3600_000;

// Plans are working data, so they are written outside an action and not audited; the mode and the
// admin freeze still apply, exactly as for the admin action that will follow.
async function inWritableTransaction<T>(database: Database, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return database.db.transaction().execute(async (trx) => {
    assertModeAllows("admin", await readSystemState(trx).catch(() => null));
    return fn(trx);
  });
}

/** Stores a dry run for its author; returns the import's id. */
export async function savePlan(database: Database, actor: Actor, plan: ImportPlan): Promise<string> {
  const row = await inWritableTransaction(database, (trx) =>
    trx
      .insertInto("member_imports")
      .values({
        created_by: actorRef(actor),
        file_name: plan.fileName,
        file_hash: plan.fileHash,
        plan: JSON.stringify(plan),
      })
      .returning("id")
      .executeTakeFirstOrThrow(),
  );
  return row.id;
}

/** An import, visible only to whoever made it (anyone else gets 404). */
export async function loadImport(db: Kysely<DB>, id: string, actor: Actor): Promise<StoredImport> {
  if (!UUID.test(id)) throw notFound();
  const row = await db
    .selectFrom("member_imports")
    .selectAll()
    .where("id", "=", id)
    .where("created_by", "=", actorRef(actor))
    .executeTakeFirst();
  if (!row) throw notFound();
  return {
    id: row.id,
    status: row.status as StoredImport["status"],
    createdAt: new Date(row.created_at),
    appliedAt: row.applied_at ? new Date(row.applied_at) : null,
    plan: row.plan as ImportPlan,
    result: (row.result as ImportResult | null) ?? null,
  };
}

/** Marks a planned import as being applied; only one confirm can win (W-3). */
export async function claimImport(database: Database, id: string): Promise<boolean> {
  const claimed = await inWritableTransaction(database, (trx) =>
    trx
      .updateTable("member_imports")
      .set({ status: "applying" })
      .where("id", "=", id)
      .where("status", "=", "planned")
      .where("created_at", ">", sql<Date>`now() - interval '1 day'`) // PLAN_TTL_MS
      .returning("id")
      .executeTakeFirst(),
  );
  return claimed !== undefined;
}

/** Why a stored import cannot be confirmed (any more), or nothing when it can. */
export function confirmRefusal(stored: StoredImport, fileHash: string | undefined): ClubError | undefined {
  if (fileHash !== stored.plan.fileHash) {
    return new ClubError(
      "import_plan_mismatch",
      "This confirmation does not match the dry run it names. Open the dry run again and confirm from there.",
      409,
    );
  }
  if (stored.status === "applying") {
    return new ClubError(
      "import_in_progress",
      "This import is being applied, or stopped before it finished. Upload the file again to see what is left to do.",
      409,
    );
  }
  if (stored.status !== "planned") return undefined; // applied: the caller replays the result
  const rejected = stored.plan.counts.reject;
  if (rejected > 0) {
    const lines = stored.plan.rows.filter((r) => r.outcome === "reject").map((r) => r.line);
    return new ClubError(
      "import_has_rejections",
      `${rejected} row${rejected === 1 ? " was" : "s were"} rejected (line ${lines.slice(0, 20).join(", ")}${lines.length > 20 ? ", ..." : ""}), so nothing is imported. Fix the file and upload it again.`,
      422,
      { lines },
    );
  }
  if (Date.now() - stored.createdAt.getTime() > PLAN_TTL_MS) return importExpired();
  return undefined;
}

/** 409 for a dry run too old to confirm. */
export const importExpired = () =>
  new ClubError(
    "import_expired",
    "This dry run is more than a day old, so the members may have changed since. Upload the file again.",
    409,
  );
