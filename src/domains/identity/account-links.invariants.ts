import { sql } from "kysely";
import type { InvariantCheck, Violation } from "../../core/invariants.ts";

/* Invitation and reset links (account_links) as set-based checks. Each query returns subject_type,
 * subject_id, detail. */

/** A member has at most one open link of each kind (held by account_links_one_open), and an accepted
 * invitation always left a login behind (acceptInvitation uses the link and makes the login in one
 * transaction). */
export const accountLinkInvariantChecks: InvariantCheck[] = [
  {
    id: "identity.one-open-link",
    rule: "INV-3",
    description: "a member has at most one open invitation and at most one open password-reset link",
    sql: sql<Violation>`
      SELECT 'member'::text AS subject_type, member_id::text AS subject_id,
             count(*)::text || ' open ' || purpose || ' links' AS detail
      FROM account_links
      WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
      GROUP BY member_id, purpose
      HAVING count(*) > 1`,
  },
  {
    id: "identity.accepted-invitation-has-login",
    rule: "INV-3",
    description: "every accepted invitation's member has a login",
    sql: sql<Violation>`
      SELECT 'account_link'::text AS subject_type, l.id::text AS subject_id,
             'invitation used at ' || l.used_at::text || ' but member ' || l.member_id::text || ' has no login' AS detail
      FROM account_links l
      WHERE l.purpose = 'invitation' AND l.used_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = l.member_id)`,
  },
];
