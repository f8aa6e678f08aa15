-- clubos:after 0013_mode_check_in_audit_write
-- Registration as one statement: take the place, then write the audit entry and the one message that
-- fits the outcome. p_audit: {effect, sealLock, actorType, actorId, requestId, after}; the outcome's
-- status and waitlist position are added to "after" here. p_confirmed: the confirmation message;
-- p_waitlisted: the waitlist message, whose body is bodyBefore || position || bodyAfter. The shared
-- seal lock is taken before the member and event locks, so a sealer waiting for it never stalls a
-- member who holds the event. After 0013: it calls clubos_audit_write with p_effect.
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
  -- The member's row, shared, before the event: it conflicts with the update that deletes a member, so
  -- a deletion either waits for this registration (and then cancels it with their other places) or
  -- is seen here, and a deleted member never keeps a place (INV-8). Member, then event: the order
  -- deleteMember takes them in.
  PERFORM 1 FROM members m WHERE m.id = p_member AND m.deleted_at IS NULL FOR SHARE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::integer, NULL::uuid;
    RETURN;
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
