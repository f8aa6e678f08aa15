-- The mode check of every action (W-8, D-3) moves into the statement that writes its audit entry.
-- Each action used to read system_state in a statement of its own at the start of its transaction: a
-- round trip per write, and the round trips to the database are most of what a write costs the server
-- (bench:registrations). Every action writes exactly one audit entry, last, inside its transaction, so
-- checking there is still inside the transaction, and later: nothing commits once a switch to read-only
-- has committed before the action's last statement. Recovery actions (leaving read-only mode) skip it.
-- A refusal is raised with a ClubOS SQLSTATE that runAction turns into the user's message:
-- CB001 read-only or maintenance, CB002 a freeze switch, CB003 no state row.
DROP FUNCTION clubos_audit_write(boolean, text, text, text, text, text, jsonb, jsonb, text, text);
CREATE FUNCTION clubos_audit_write(
  p_effect text, p_seal_lock boolean, p_actor_type text, p_actor_id text, p_action text,
  p_subject_type text, p_subject_id text, p_before jsonb, p_after jsonb, p_reason text, p_request_id text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  st record;
  written uuid;
BEGIN
  IF p_effect IS DISTINCT FROM 'recovery' THEN
    SELECT s.mode, s.reason, s.admin_freeze, s.publish_freeze INTO st FROM system_state s WHERE s.id = 1;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'CB003', MESSAGE = 'The system state cannot be read.';
    END IF;
    IF st.mode <> 'normal' THEN
      RAISE EXCEPTION USING ERRCODE = 'CB001',
        MESSAGE = json_build_object('mode', st.mode, 'reason', st.reason)::text;
    END IF;
    IF p_effect = 'admin' AND st.admin_freeze THEN
      RAISE EXCEPTION USING ERRCODE = 'CB002',
        MESSAGE = json_build_object('what', 'Admin changes', 'reason', st.reason)::text;
    END IF;
    IF p_effect = 'publish' AND st.publish_freeze THEN
      RAISE EXCEPTION USING ERRCODE = 'CB002',
        MESSAGE = json_build_object('what', 'Publishing changes', 'reason', st.reason)::text;
    END IF;
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

-- clubos_register (0011) again, passing the action's effect (p_audit.effect) to the audit write.
CREATE OR REPLACE FUNCTION clubos_register(p_registration uuid, p_event uuid, p_member uuid, p_guests text[],
  p_event_version integer, p_audit jsonb, p_confirmed jsonb, p_waitlisted jsonb)
RETURNS TABLE (outcome text, reg_status text, wait_position integer, audit_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  taken record;
  written uuid;
  message jsonb;
BEGIN
  IF (p_audit->>'sealLock')::boolean THEN
    PERFORM pg_advisory_xact_lock_shared(7204001);
  END IF;
  SELECT * INTO taken FROM clubos_take_place(p_registration, p_event, p_member, p_guests, p_event_version);
  IF taken.outcome <> 'ok' THEN
    RETURN QUERY SELECT taken.outcome, NULL::text, NULL::integer, NULL::uuid;
    RETURN;
  END IF;
  written := clubos_audit_write(p_audit->>'effect', (p_audit->>'sealLock')::boolean, p_audit->>'actorType',
    p_audit->>'actorId', 'registration.' || taken.reg_status, 'registration', p_registration::text, NULL,
    coalesce(p_audit->'after', '{}'::jsonb)
      || jsonb_build_object('status', taken.reg_status, 'waitlistPosition', taken.wait_position),
    NULL, p_audit->>'requestId');
  IF taken.reg_status = 'confirmed' THEN
    message := p_confirmed;
  ELSE
    message := (p_waitlisted - 'bodyBefore' - 'bodyAfter')
      || jsonb_build_object('body', (p_waitlisted->>'bodyBefore') || taken.wait_position::text || (p_waitlisted->>'bodyAfter'));
  END IF;
  PERFORM clubos_outbox_write(written, jsonb_build_array(message));
  RETURN QUERY SELECT 'ok'::text, taken.reg_status, taken.wait_position, written;
END $$;
