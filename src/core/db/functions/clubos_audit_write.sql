-- clubos:after 0013_mode_check_in_audit_write
-- One way to write an audit entry, callable from SQL. writeAuditEntry (src/core/audit.ts) calls it for
-- every action; a statement that must hold a hot lock as briefly as possible (clubos_register) calls
-- it itself, so its lock is held for one statement and the commit, never across a round trip.
--
-- It also makes the mode check of every action (W-8, D-3): every action writes exactly one audit
-- entry, last, inside its transaction, so nothing commits once a switch to read-only has committed
-- before the action's last statement, at no extra round trip. It applies the table EFFECTS of
-- src/core/modes.ts, the one mode decision, as the last line of defence: 'read' (an audited read) and
-- 'recovery' pass in every mode; 'write', 'admin' and 'publish' are refused outside normal mode, 'admin'
-- also under the admin freeze, 'publish' under the publish freeze; an unknown effect is refused.
-- test/integration/mode-decision.test.ts holds the two to one answer. A refusal raises CB001 carrying
-- the state it saw, from which runAction builds the message with modeRefusal; CB003 when there is no
-- state row.
-- Its earlier signature (without p_effect) is dropped by 0013.
CREATE OR REPLACE FUNCTION clubos_audit_write(
  p_effect text, p_seal_lock boolean, p_actor_type text, p_actor_id text, p_action text,
  p_subject_type text, p_subject_id text, p_before jsonb, p_after jsonb, p_reason text, p_request_id text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  st record;
  written uuid;
BEGIN
  IF p_effect IN ('write', 'admin', 'publish') THEN
    SELECT s.mode, s.reason, s.admin_freeze, s.publish_freeze, s.preview_off INTO st
      FROM system_state s WHERE s.id = 1;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'CB003', MESSAGE = 'The system state cannot be read.';
    END IF;
    IF st.mode <> 'normal' OR (p_effect = 'admin' AND st.admin_freeze)
       OR (p_effect = 'publish' AND st.publish_freeze) THEN
      RAISE EXCEPTION USING ERRCODE = 'CB001', MESSAGE = json_build_object('mode', st.mode,
        'reason', st.reason, 'admin_freeze', st.admin_freeze, 'publish_freeze', st.publish_freeze,
        'preview_off', st.preview_off)::text;
    END IF;
  ELSIF p_effect IS DISTINCT FROM 'read' AND p_effect IS DISTINCT FROM 'recovery' THEN
    RAISE EXCEPTION USING ERRCODE = 'CB003', MESSAGE = format('Unknown action effect %L.', p_effect);
  END IF;
  -- Held until commit, so the sealer can tell when every lower seq is settled (src/core/audit-chain.ts).
  IF p_seal_lock THEN
    PERFORM pg_advisory_xact_lock_shared(7204001);
  END IF;
  INSERT INTO audit_log (actor_type, actor_id, action, subject_type, subject_id, before, after, reason, request_id)
  VALUES (p_actor_type, p_actor_id, p_action, p_subject_type, p_subject_id, p_before, p_after, p_reason, p_request_id)
  RETURNING id INTO written;
  RETURN written;
END $$;
