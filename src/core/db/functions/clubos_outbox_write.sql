-- clubos:after 0001_core
-- Writes an audit entry's outbox messages, delivered only after commit (W-6). Messages: a JSON array
-- of {topic, recipient, subject, body, payload}.
CREATE OR REPLACE FUNCTION clubos_outbox_write(p_audit uuid, p_messages jsonb)
RETURNS integer LANGUAGE sql AS $$
  WITH written AS (
    INSERT INTO outbox (topic, recipient, subject, body, payload, audit_id)
    SELECT m->>'topic', m->>'recipient', m->>'subject', m->>'body', coalesce(m->'payload', '{}'::jsonb), p_audit
    FROM jsonb_array_elements(coalesce(p_messages, '[]'::jsonb)) AS m
    RETURNING 1)
  SELECT count(*)::integer FROM written;
$$;
