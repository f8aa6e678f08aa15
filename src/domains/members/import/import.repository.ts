import { type ExpressionBuilder, type Kysely, sql, type Transaction } from "kysely";
import { assertModeAllows } from "../../../core/action.ts";
import { type Actor, actorRef } from "../../../core/actor.ts";
import type { Database } from "../../../core/db/connect.ts";
import type { DB } from "../../../core/db/schema.ts";
import { UUID } from "../../../core/ids.ts";
import { type ActionEffect, readSystemState } from "../../../core/modes.ts";
import { importSuperseded } from "./import.errors.ts";
import type { ColumnValues, ImportPlan } from "./plan.ts";

/* Every query of the member import: its stored dry runs and their progress (member_imports), and the
 * few reads and writes of members that the plan and its rows need beyond the members actions. */

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

const selectImport = (db: Kysely<DB>, id: string) =>
  db
    .selectFrom("member_imports")
    .selectAll()
    .select(sql<boolean>`updated_at > now() - make_interval(secs => ${STALL_MS / 1000})`.as("recently_moved"))
    .where("id", "=", id);

type ImportRow = Awaited<ReturnType<ReturnType<typeof selectImport>["executeTakeFirstOrThrow"]>>;

function storedImport(row: ImportRow): StoredImport {
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

/** Stores a dry run for its author; returns the import's id. */
export async function insertPlan(trx: Kysely<DB>, actor: Actor, plan: ImportPlan): Promise<string> {
  const row = await trx
    .insertInto("member_imports")
    .values({
      created_by: actorRef(actor),
      file_name: plan.fileName,
      file_hash: plan.fileHash,
      plan: JSON.stringify(plan),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}

/** An import by id, or undefined (a malformed id included). Who may see it is the route's policy. */
export async function findImport(db: Kysely<DB>, id: string): Promise<StoredImport | undefined> {
  if (!UUID.test(id)) return undefined;
  const row = await selectImport(db, id).executeTakeFirst();
  return row && storedImport(row);
}

/** True when the import exists and this actor made it. */
export async function importMadeBy(db: Kysely<DB>, id: string, actor: Actor): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const row = await db
    .selectFrom("member_imports")
    .select("id")
    .where("id", "=", id)
    .where("created_by", "=", actorRef(actor))
    .executeTakeFirst();
  return row !== undefined;
}

/** The import, locked for this transaction (confirm and resume decide on it). */
export async function lockImport(trx: Transaction<DB>, id: string): Promise<StoredImport | undefined> {
  if (!UUID.test(id)) return undefined;
  const row = await selectImport(trx, id).forUpdate().executeTakeFirst();
  return row && storedImport(row);
}

/** An import's status and file hash, locked, without its plan (a replay needs no more). */
export async function lockImportState(trx: Transaction<DB>, id: string) {
  if (!UUID.test(id)) return undefined;
  const row = await trx
    .selectFrom("member_imports")
    .select(["status", "file_hash", "result"])
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
  return (
    row && {
      status: row.status as StoredImport["status"],
      fileHash: row.file_hash,
      result: (row.result as ImportResult | null) ?? null,
    }
  );
}

/** Marks a planned import as being applied by `applier`; only one confirm can win (W-3). */
export async function claimImport(trx: Transaction<DB>, id: string, applier: string): Promise<boolean> {
  const claimed = await trx
    .updateTable("member_imports")
    .set({ status: "applying", applier, rows_done: 0, row_problems: "[]" })
    .where("id", "=", id)
    .where("status", "=", "planned")
    .where("created_at", ">", sql<Date>`now() - make_interval(secs => ${PLAN_TTL_MS / 1000})`)
    .returning("id")
    .executeTakeFirst();
  return claimed !== undefined;
}

/** Hands an import being applied to a new applier (resume); the one before, if still alive somewhere,
 * can no longer move it and stops. Returns where the import stands, or undefined if it is not applying. */
export async function takeOverImport(
  trx: Transaction<DB>,
  id: string,
  applier: string,
): Promise<{ rowsDone: number; rowProblems: AppliedRow[] } | undefined> {
  const row = await trx
    .updateTable("member_imports")
    .set({ applier })
    .where("id", "=", id)
    .where("status", "=", "applying")
    .returning(["rows_done", "row_problems"])
    .executeTakeFirst();
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

// Progress is working data, written outside an action and not audited (each row's own action is); the
// mode and switches still stop it, as they stop the action whose effect is given.
function withModeCheck<T>(
  database: Database,
  effect: ActionEffect,
  fn: (trx: Kysely<DB>) => Promise<T>,
): Promise<T> {
  return database.db.transaction().execute(async (trx) => {
    assertModeAllows(effect, await readSystemState(trx).catch(() => null));
    return fn(trx);
  });
}

/** Records a row refused while applying (its own transaction rolled back, so it wrote nothing else). If
 * this is lost in a crash, resuming simply tries the row again. */
export async function recordRowProblem(
  database: Database,
  effect: ActionEffect,
  at: { id: string; applier: string; index: number },
  problem: AppliedRow,
): Promise<void> {
  const row = await withModeCheck(database, effect, (trx) =>
    heldAt(trx, at.id, at.applier, at.index)
      .set({
        rows_done: at.index + 1,
        row_problems: sql`row_problems || ${JSON.stringify([problem])}::jsonb`,
      })
      .returning("id")
      .executeTakeFirst(),
  );
  if (!row) throw importSuperseded();
}

/** Moves the progress over skipped (unchanged) rows, which have no transaction of their own. Every row
 * before `done` has already committed or been recorded, so this only states what is already true. */
export async function recordRowsDone(
  database: Database,
  effect: ActionEffect,
  at: { id: string; applier: string },
  done: number,
) {
  const row = await withModeCheck(database, effect, (trx) =>
    heldAt(trx, at.id, at.applier, done).set({ rows_done: done }).returning("id").executeTakeFirst(),
  );
  if (!row) throw importSuperseded();
}

/** Closes an import this applier holds: stores its result. Returns the file it came from, or undefined
 * when the import is not (any more) this applier's. */
export async function markImportApplied(
  trx: Transaction<DB>,
  id: string,
  applier: string,
  result: ImportResult,
): Promise<{ fileHash: string; fileName: string } | undefined> {
  const row = await trx
    .updateTable("member_imports")
    .set({
      status: "applied",
      result: JSON.stringify(result),
      applied_at: sql`now()`,
      applier: null,
      row_problems: "[]",
    })
    .where("id", "=", id)
    .where("status", "=", "applying")
    .where("applier", "=", applier)
    .returning(["file_hash", "file_name"])
    .executeTakeFirst();
  return row && { fileHash: row.file_hash, fileName: row.file_name };
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

/** The members a file names, by lower-cased email, with the values an import compares (dates as text). */
export function membersByEmail(db: Kysely<DB>, emails: string[]) {
  return db
    .selectFrom("members")
    .select(["id", "email", "name", "status", "phone", "address", "tier_key", "version", "deleted_at"])
    .select([
      sql<string>`joined_on::text`.as("joined_on"),
      sql<string | null>`renewal_due_on::text`.as("renewal_due"),
    ])
    .where(sql`lower(email)`, "in", emails)
    .execute();
}

/** A member's version and deletion, locked, for an update planned against a version (W-4). */
export function lockMemberVersion(trx: Transaction<DB>, memberId: string) {
  return trx
    .selectFrom("members")
    .select(["version", "deleted_at"])
    .where("id", "=", memberId)
    .forUpdate()
    .executeTakeFirst();
}

/** The fields of a member created by this very import row beyond name, email and status. The row was
 * made in the same transaction, so nobody can hold an older version: no version bump is needed. */
export function setImportedFields(
  trx: Transaction<DB>,
  memberId: string,
  fields: Omit<ColumnValues, "name" | "status">,
) {
  return trx
    .updateTable("members")
    .set(fields)
    .where("id", "=", memberId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
