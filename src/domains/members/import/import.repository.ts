import { type ExpressionBuilder, type Kysely, sql, type Transaction } from "kysely";
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

/** A stored import: its plan, and its result once applied. Once purged (retention), the plan and result
 * keep their counts but no rows. */
export interface StoredImport {
  id: string;
  status: "planned" | "applying" | "applied" | "expired";
  createdAt: Date;
  appliedAt: Date | null;
  plan: ImportPlan;
  result: ImportResult | null;
  /** Plan rows finished so far, in order (durable progress). */
  rowsDone: number;
  /** When the row-by-row personal data was removed; null while it is kept. */
  purgedAt: Date | null;
  /** Moved (a row applied, a status change) within STALL_MS by the database's clock: while applying,
   * some server is still working on it, whichever one. */
  recentlyMoved: boolean;
}

/** How long an import being applied may stand still before any server offers to resume it. */
export const STALL_MS = 60_000;

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
    .select(sql<boolean>`updated_at > now() - make_interval(secs => ${STALL_MS / 1000})`.as("recently_moved"))
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
    rowsDone: row.rows_done,
    purgedAt: row.purged_at ? new Date(row.purged_at) : null,
    recentlyMoved: row.recently_moved,
  };
}

/** Marks a planned import as being applied by `applier`; only one confirm can win (W-3). */
export async function claimImport(database: Database, id: string, applier: string): Promise<boolean> {
  const claimed = await inWritableTransaction(database, (trx) =>
    trx
      .updateTable("member_imports")
      .set({ status: "applying", applier, rows_done: 0, row_problems: "[]" })
      .where("id", "=", id)
      .where("status", "=", "planned")
      .where("created_at", ">", sql<Date>`now() - interval '1 day'`) // PLAN_TTL_MS
      .returning("id")
      .executeTakeFirst(),
  );
  return claimed !== undefined;
}

/** Hands an import being applied to a new applier (resume); the one before, if still alive somewhere,
 * can no longer move it and stops. Returns where the import stands, or undefined if it is not applying. */
export async function takeOverImport(
  database: Database,
  id: string,
  applier: string,
): Promise<{ rowsDone: number; rowProblems: AppliedRow[] } | undefined> {
  const row = await inWritableTransaction(database, (trx) =>
    trx
      .updateTable("member_imports")
      .set({ applier })
      .where("id", "=", id)
      .where("status", "=", "applying")
      .returning(["rows_done", "row_problems"])
      .executeTakeFirst(),
  );
  return row && { rowsDone: row.rows_done, rowProblems: row.row_problems as AppliedRow[] };
}

// The import row is still held by this applier and `index` is not done yet. Updating it also locks the
// import row, so a takeover waits for this row's transaction and then sees its progress.
const heldAt = (trx: Kysely<DB>, id: string, applier: string, index: number) =>
  trx
    .updateTable("member_imports")
    .where("id", "=", id)
    .where("status", "=", "applying")
    .where("applier", "=", applier)
    .where("rows_done", "<=", index);

/** Inside a row's own transaction: counts plan row `index` as done. Throws if another applier holds the
 * import or the row was done already, which rolls the row back: no row is ever applied twice. */
export async function markRowDone(trx: Transaction<DB>, id: string, applier: string, index: number) {
  const row = await heldAt(trx, id, applier, index)
    .set({ rows_done: index + 1 })
    .returning("id")
    .executeTakeFirst();
  if (!row) throw importSuperseded();
}

/** Records a row refused while applying (its own transaction rolled back, so it wrote nothing else). If
 * this is lost in a crash, resuming simply tries the row again. */
export async function recordRowProblem(
  database: Database,
  id: string,
  applier: string,
  index: number,
  problem: AppliedRow,
): Promise<void> {
  const row = await inWritableTransaction(database, (trx) =>
    heldAt(trx, id, applier, index)
      .set({
        rows_done: index + 1,
        row_problems: sql`row_problems || ${JSON.stringify([problem])}::jsonb`,
      })
      .returning("id")
      .executeTakeFirst(),
  );
  if (!row) throw importSuperseded();
}

/** Moves the progress over skipped (unchanged) rows, which have no transaction of their own. Every row
 * before `done` has already committed or been recorded, so this only states what is already true. */
export async function recordRowsDone(database: Database, id: string, applier: string, done: number) {
  const row = await inWritableTransaction(database, (trx) =>
    heldAt(trx, id, applier, done).set({ rows_done: done }).returning("id").executeTakeFirst(),
  );
  if (!row) throw importSuperseded();
}

// Imports made before `before` that still hold their rows; one still applying only once it stopped moving.
const purgeDue = (before: Date) => (eb: ExpressionBuilder<DB, "member_imports">) =>
  eb.and([
    eb("purged_at", "is", null),
    eb("created_at", "<", before),
    eb.or([eb("status", "<>", "applying"), eb("updated_at", "<", before)]),
  ]);

/** How many imports the retention purge would remove the rows of. */
export async function countImportsToPurge(trx: Kysely<DB>, before: Date): Promise<number> {
  const row = await trx
    .selectFrom("member_imports")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where(purgeDue(before))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Removes the row-by-row personal data of imports made before `before`, keeping their summary (file,
 * hash, author, times, status, counts). A dry run never applied becomes 'expired'. Returns their ids. */
export async function purgeImportsBefore(trx: Kysely<DB>, before: Date): Promise<string[]> {
  const rows = await trx
    .updateTable("member_imports")
    .where(purgeDue(before))
    .set({
      plan: sql`jsonb_set(plan, '{rows}', '[]'::jsonb)`,
      result: sql`CASE WHEN result IS NULL THEN NULL ELSE jsonb_set(result, '{rows}', '[]'::jsonb) END`,
      row_problems: "[]",
      status: sql`CASE WHEN status = 'applied' THEN 'applied' ELSE 'expired' END`,
      applier: null,
      purged_at: sql`now()`,
    })
    .returning("id")
    .execute();
  return rows.map((r) => r.id);
}

/** Why a stored import cannot be confirmed (any more), or nothing when it can. */
export function confirmRefusal(stored: StoredImport, fileHash: string | undefined): ClubError | undefined {
  if (stored.status === "expired") return importDetailsRemoved();
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
      "This import is being applied, or stopped before it finished. Open its page to follow it, or to resume it if it stopped.",
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

/** 409 for an import whose details were removed by the retention job: only a new upload can apply it. */
export const importDetailsRemoved = () =>
  new ClubError(
    "import_expired",
    "This import expired and its row-by-row details were removed, so it can no longer be applied. " +
      "Upload the file again to import it.",
    409,
  );

/** 409 to an applier whose import was taken over (resumed elsewhere): it stops, nothing is applied twice. */
export const importSuperseded = () =>
  new ClubError(
    "import_superseded",
    "This import was resumed by another run, so this one stopped. Nothing was applied twice.",
    409,
  );
