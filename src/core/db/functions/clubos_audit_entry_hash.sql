-- clubos:after 0001_core
-- The text of an entry that its hash covers; one definition for sealing and verifying.
-- STABLE (to_char is) lets the planner inline it, and PARALLEL SAFE lets a scan of the whole log use
-- every core: together about 3x faster on a million entries (bench/RESULTS.md, bench:scan).
CREATE OR REPLACE FUNCTION clubos_audit_entry_hash(e audit_log) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    e.seq, e.id, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e.actor_type, e.actor_id, e.action, e.subject_type, e.subject_id, e.before, e.after, e.reason, e.request_id
  )::text, 'UTF8')), 'hex')
$$;
