import { sql } from "kysely";
import { defineAction } from "../../core/action.ts";
import { CLUBOS_COLUMNS } from "./import/columns.ts";
import { toCsv } from "./import/csv.ts";

/** The member list as CSV for an admin (the same columns the import reads, so a file round-trips).
 * A copy of personal data leaving ClubOS is recorded: one 'member.exported' audit entry with the count.
 * Effect "admin": refused in read-only mode and under the admin freeze (denial over an unaudited copy). */
export const exportMembers = defineAction({
  name: "exportMembers",
  access: { capability: "members:read" },
  effect: "admin",
  async run({ trx }, _input: Record<string, never>) {
    const rows = await trx
      .selectFrom("members")
      .select(["name", "email", "phone", "address", "status"])
      .select([
        sql<string>`coalesce(tier_key, '')`.as("tier"),
        sql<string>`joined_on::text`.as("joined_on"),
        sql<string>`coalesce(renewal_due_on::text, '')`.as("renewal_due_on"),
      ])
      .where("deleted_at", "is", null)
      .orderBy(sql`lower(email)`)
      .execute();
    // The byte order mark makes Excel read the file as UTF-8; the import drops it again.
    const csv = `\uFEFF${toCsv([CLUBOS_COLUMNS, ...rows.map((r) => CLUBOS_COLUMNS.map((c) => r[c]))])}`;
    return {
      result: { csv, count: rows.length },
      audit: {
        action: "member.exported",
        subjectType: "member_list",
        subjectId: "all",
        after: { rows: rows.length, columns: CLUBOS_COLUMNS },
      },
    };
  },
});
