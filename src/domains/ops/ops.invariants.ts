import { sql } from "kysely";
import type { InvariantCheck, Violation } from "../../core/invariants.ts";

/* The ops domain's invariants as scans: the audit chain and the single system_state row. The chain
 * hashes are recomputed with the same SQL function the sealer uses (clubos_audit_entry_hash), so
 * the scan and `clubos audit verify` agree on what an intact entry is. */

/** The ops checks: sealed audit entries still match their seal (S-2) and the mode row exists (O3). */
export const opsInvariantChecks: InvariantCheck[] = [
  {
    id: "ops.audit_chain",
    rule: "S-2",
    description:
      "sealed audit entries match their seal, the chain links hold, and nothing sits unsealed below the head",
    sql: sql<Violation>`
      SELECT 'audit_log' AS subject_type, a.seq::text AS subject_id,
             'entry no longer matches its seal: it was edited after it was written' AS detail
      FROM audit_log a JOIN audit_chain c ON c.seq = a.seq
      WHERE clubos_audit_entry_hash(a) <> c.entry_hash
      UNION ALL
      SELECT 'audit_log', a.seq::text,
             'entry sits below the sealed head (' || h.head::text || ') but was never sealed: it was inserted behind ClubOS''s back'
      FROM audit_log a CROSS JOIN (SELECT max(seq) AS head FROM audit_chain) h
      WHERE a.seq < h.head AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = a.seq)
      UNION ALL
      SELECT 'audit_chain', l.seq::text,
             'the chain breaks before this entry: an earlier entry was removed or the chain rewritten'
      FROM (SELECT seq, entry_hash, chain_hash,
                   lag(chain_hash, 1, repeat('0', 64)) OVER (ORDER BY seq) AS prev
            FROM audit_chain) l
      WHERE l.chain_hash <> encode(sha256(convert_to(l.prev || l.entry_hash, 'UTF8')), 'hex')`,
  },
  {
    id: "ops.system_state",
    rule: "O3",
    description: "system_state holds exactly one row (the mode and kill switches)",
    sql: sql<Violation>`
      SELECT 'system_state' AS subject_type, 'system_state' AS subject_id,
             'system_state has ' || count(*)::text || ' rows; exactly one is required' AS detail
      FROM system_state
      HAVING count(*) <> 1`,
  },
  {
    id: "ops.incidents",
    rule: "H-2",
    description:
      "the incident log holds together: every timeline entry and owner points at a row, and no SEV-1 is closed without its review",
    sql: sql<Violation>`
      SELECT 'incident_entry' AS subject_type, e.id::text AS subject_id,
             'belongs to no incident: ' || e.incident_id::text AS detail
      FROM incident_entries e WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id)
      UNION ALL
      SELECT 'area_owner', o.area, 'names no member: ' || o.member_id::text
      FROM area_owners o WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = o.member_id)
      UNION ALL
      SELECT 'incident', i.id::text, 'INC-' || i.number::text || ' is a closed SEV-1 with no review'
      FROM incidents i
      WHERE i.status = 'closed' AND i.severity = 'SEV-1' AND length(btrim(coalesce(i.review, ''))) = 0`,
  },
];
