import { sql } from "kysely";
import type { Runtime } from "../../src/app/runtime.ts";

/** Makes an import look `ms` old: created_at is immutable by trigger (INV-9), so the trigger is off for
 * this one statement, which is the only way time passes in a test. With alsoUpdatedAt, it also looks as
 * if it last moved then. */
export async function ageImport(
  runtime: Runtime,
  importId: string,
  ms: number,
  options: { alsoUpdatedAt?: boolean } = {},
): Promise<void> {
  const at = new Date(Date.now() - ms).toISOString();
  await runtime.database.db.transaction().execute(async (trx) => {
    await sql`ALTER TABLE member_imports DISABLE TRIGGER member_imports_timestamps`.execute(trx);
    await sql`UPDATE member_imports SET created_at = ${at}::timestamptz,
      updated_at = CASE WHEN ${options.alsoUpdatedAt ?? false} THEN ${at}::timestamptz ELSE updated_at END
      WHERE id = ${importId}`.execute(trx);
    await sql`ALTER TABLE member_imports ENABLE TRIGGER member_imports_timestamps`.execute(trx);
  });
}
