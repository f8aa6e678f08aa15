import { sql } from "kysely";
import type { InvariantCheck, Violation } from "../../core/invariants.ts";
import { allowedPairs } from "./member-status.ts";

// The state machine as SQL rows, from the one table in member-status.ts.
const pairs = () => sql.join(allowedPairs().map(([from, to]) => sql`(${from}, ${to})`));

/** The members checks (INV-2, INV-9): history follows the state machine and ends at the current status. */
export const membersInvariantChecks: InvariantCheck[] = [
  {
    id: "members.status_transitions",
    rule: "INV-2",
    description: "every recorded status change is allowed by the state machine",
    sql: sql<Violation>`
      SELECT 'member' AS subject_type, h.member_id::text AS subject_id,
             'status went from ' || h.from_status || ' to ' || h.to_status || ', which the state machine does not allow' AS detail
      FROM member_status_history h
      WHERE h.from_status IS NOT NULL
        AND (h.from_status, h.to_status) NOT IN (SELECT a, b FROM (VALUES ${pairs()}) AS allowed (a, b))`,
  },
  {
    id: "members.status_history_current",
    rule: "INV-2",
    description: "each member's latest status history entry is their current status",
    sql: sql<Violation>`
      SELECT 'member' AS subject_type, m.id::text AS subject_id,
             'status is ' || m.status || ' but the history ends at ' || coalesce(h.to_status, 'nothing') AS detail
      FROM members m
      LEFT JOIN LATERAL (SELECT to_status FROM member_status_history WHERE member_id = m.id
                         ORDER BY changed_at DESC, id DESC LIMIT 1) h ON true
      WHERE h.to_status IS DISTINCT FROM m.status`,
  },
  {
    id: "members.history_chained",
    rule: "INV-2",
    description: "each status change starts from the status the previous change ended at",
    sql: sql<Violation>`
      SELECT 'member' AS subject_type, member_id::text AS subject_id,
             'a change from ' || coalesce(from_status, 'nothing') || ' follows one that ended at ' || prev AS detail
      FROM (SELECT member_id, from_status, lag(to_status) OVER (PARTITION BY member_id ORDER BY changed_at, id) AS prev
            FROM member_status_history) h
      WHERE prev IS NOT NULL AND from_status IS DISTINCT FROM prev`,
  },
];
