import { sql } from "kysely";
import type { InvariantCheck, Violation } from "../../core/invariants.ts";

/* The identity domain's invariants as scans. Each query returns subject_type, subject_id, detail. */

// Tables whose rows must have created_at <= the later column (INV-9): [table, subject type, id, later].
const TIMESTAMPED: ReadonlyArray<readonly [string, string, string, string]> = [
  ["members", "member", "id", "updated_at"],
  ["accounts", "account", "id", "updated_at"],
  ["api_tokens", "api_token", "id", "updated_at"],
  ["roles", "role", "key", "updated_at"],
  ["role_assignments", "role_assignment", "id", "updated_at"],
  ["outbox", "outbox", "id", "updated_at"],
  ["system_state", "system_state", "id", "updated_at"],
  ["sessions", "session", "id", "last_seen_at"],
  ["account_links", "account_link", "id", "updated_at"],
];

const timestamps = sql.join(
  TIMESTAMPED.map(
    ([table, subject, id, later]) => sql`
      SELECT ${subject}::text AS subject_type, ${sql.ref(id)}::text AS subject_id,
             ${`created_at is after ${later}: `}::text || created_at::text || ' > ' || ${sql.ref(later)}::text AS detail
      FROM ${sql.table(table)} WHERE created_at > ${sql.ref(later)}`,
  ),
  sql` UNION ALL `,
);

// Foreign keys that must point at an existing row (INV-8): [child, subject, column, parent, parent column].
const REFERENCES: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ["accounts", "account", "member_id", "members", "id"],
  ["sessions", "session", "account_id", "accounts", "id"],
  ["role_assignments", "role_assignment", "member_id", "members", "id"],
  ["role_assignments", "role_assignment", "role_key", "roles", "key"],
  ["api_tokens", "api_token", "member_id", "members", "id"],
  ["account_links", "account_link", "member_id", "members", "id"],
  ["outbox", "outbox", "audit_id", "audit_log", "id"],
  ["audit_chain", "audit_chain", "seq", "audit_log", "seq"],
];

const orphans = sql.join(
  REFERENCES.map(([child, subject, column, parent, parentColumn]) => {
    const key = child === "audit_chain" ? "seq" : "id";
    return sql`
      SELECT ${subject}::text AS subject_type, c.${sql.ref(key)}::text AS subject_id,
             ${`${column} points to no row of ${parent}: `}::text || c.${sql.ref(column)}::text AS detail
      FROM ${sql.table(child)} c
      WHERE NOT EXISTS (SELECT 1 FROM ${sql.table(parent)} p WHERE p.${sql.ref(parentColumn)} = c.${sql.ref(column)})`;
  }),
  sql` UNION ALL `,
);

/** The identity domain's checks: timestamps (INV-9), orphans (INV-8) and role audit coverage (INV-3). */
export const identityInvariantChecks: InvariantCheck[] = [
  {
    id: "identity.timestamps",
    rule: "INV-9",
    description: "created_at is never after updated_at (sessions: last_seen_at)",
    sql: sql<Violation>`${timestamps}`,
  },
  {
    id: "identity.orphans",
    rule: "INV-8",
    description: "every reference between identity, audit and outbox rows points at an existing row",
    sql: sql<Violation>`${orphans}`,
  },
  {
    id: "identity.role_grants_audited",
    rule: "INV-3",
    description:
      "every role assignment has its role.granted audit entry (admin.bootstrapped for a bootstrapped full_admin)",
    // bootstrapAdmin writes one entry about the member for the member, account and full_admin role it
    // creates, so for full_admin that entry (same member, same actor) counts as the grant's.
    sql: sql<Violation>`
      SELECT 'role_assignment' AS subject_type, r.id::text AS subject_id,
             'role ' || r.role_key || ' for member ' || r.member_id::text || ' granted by ' || r.granted_by
               || ' has no role.granted audit entry' AS detail
      FROM role_assignments r
      WHERE NOT EXISTS (
              SELECT 1 FROM audit_log a
              WHERE a.action = 'role.granted' AND a.subject_type = 'role_assignment'
                AND a.subject_id = r.id::text)
        AND NOT (r.role_key = 'full_admin' AND EXISTS (
              SELECT 1 FROM audit_log a
              WHERE a.action = 'admin.bootstrapped' AND a.subject_type = 'member'
                AND a.subject_id = r.member_id::text AND a.actor_id = r.granted_by))`,
  },
  {
    id: "identity.role_ends_audited",
    rule: "INV-3",
    description: "every ended role assignment has its role.ended audit entry",
    sql: sql<Violation>`
      SELECT 'role_assignment' AS subject_type, r.id::text AS subject_id,
             'role ' || r.role_key || ' for member ' || r.member_id::text || ' ended by ' || r.ended_by
               || ' has no role.ended audit entry' AS detail
      FROM role_assignments r
      WHERE r.ended_by IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM audit_log a
              WHERE a.action = 'role.ended' AND a.subject_type = 'role_assignment'
                AND a.subject_id = r.id::text)`,
  },
];
