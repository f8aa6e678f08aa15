import { defineAction } from "../../core/action.ts";
import { CLUBOS_COLUMNS } from "./import/columns.ts";
import { toCsv } from "./import/csv.ts";
import { exportRows } from "./members.repository.ts";

/** The member list as CSV for an admin (the same columns the import reads, so a file round-trips).
 * A copy of personal data leaving ClubOS is recorded: one 'member.exported' audit entry with the count.
 * Effect "read": an audited read, so it serves in read-only mode and under the admin freeze, and is
 * still recorded every time (the entry is the only thing it writes). */
export const exportMembers = defineAction({
  name: "exportMembers",
  access: { capability: "members:read" },
  effect: "read",
  async run({ trx }, _input: Record<string, never>) {
    const rows = await exportRows(trx);
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
