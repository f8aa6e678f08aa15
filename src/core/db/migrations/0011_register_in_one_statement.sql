-- One way to write an audit entry and its outbox messages, callable from SQL. writeAuditEntry
-- (src/core/audit.ts) calls these for every action; a statement that must hold a hot lock as briefly
-- as possible (registration, below) calls them itself, so its lock is held for one statement and the
-- commit, never across a round trip to the application.
CREATE FUNCTION clubos_audit_write(
  p_seal_lock boolean, p_actor_type text, p_actor_id text, p_action text, p_subject_type text,
  p_subject_id text, p_before jsonb, p_after jsonb, p_reason text, p_request_id text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  written uuid;
BEGIN
  -- Held until commit, so the sealer can tell when every lower seq is settled (src/core/audit-chain.ts).
  IF p_seal_lock THEN
    PERFORM pg_advisory_xact_lock_shared(7204001);
  END IF;
  INSERT INTO audit_log (actor_type, actor_id, action, subject_type, subject_id, before, after, reason, request_id)
  VALUES (p_actor_type, p_actor_id, p_action, p_subject_type, p_subject_id, p_before, p_after, p_reason, p_request_id)
  RETURNING id INTO written;
  RETURN written;
END $$;

-- Messages: a JSON array of {topic, recipient, subject, body, payload}.
CREATE FUNCTION clubos_outbox_write(p_audit uuid, p_messages jsonb)
RETURNS integer LANGUAGE sql AS $$
  WITH written AS (
    INSERT INTO outbox (topic, recipient, subject, body, payload, audit_id)
    SELECT m->>'topic', m->>'recipient', m->>'subject', m->>'body', coalesce(m->'payload', '{}'::jsonb), p_audit
    FROM jsonb_array_elements(coalesce(p_messages, '[]'::jsonb)) AS m
    RETURNING 1)
  SELECT count(*)::integer FROM written;
$$;

-- Taking a place: lock the event, check it is open (and, given a version, unchanged since the caller
-- read it), read the tally and insert the registration with the caller's id.
DROP FUNCTION clubos_take_place(uuid, uuid, text[]);
CREATE FUNCTION clubos_take_place(p_registration uuid, p_event uuid, p_member uuid, p_guests text[], p_event_version integer)
RETURNS TABLE (outcome text, reg_status text, wait_position integer)
LANGUAGE plpgsql AS $$
DECLARE
  ev events;
  tally event_tallies;
  confirmed boolean;
BEGIN
  SELECT * INTO ev FROM events e WHERE e.id = p_event FOR NO KEY UPDATE;
  IF NOT FOUND OR ev.status = 'draft' THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::integer;
    RETURN;
  END IF;
  IF p_event_version IS NOT NULL AND ev.version <> p_event_version THEN
    RETURN QUERY SELECT 'stale'::text, NULL::text, NULL::integer; -- the caller re-reads and retries
    RETURN;
  END IF;
  IF ev.status <> 'published' THEN
    RETURN QUERY SELECT ('closed:' || ev.status)::text, NULL::text, NULL::integer;
    RETURN;
  END IF;
  IF ev.registration_opens_at IS NOT NULL AND now() < ev.registration_opens_at THEN
    RETURN QUERY SELECT 'not_open'::text, NULL::text, NULL::integer;
    RETURN;
  END IF;
  IF ev.registration_closes_at IS NOT NULL AND now() > ev.registration_closes_at THEN
    RETURN QUERY SELECT 'window_closed'::text, NULL::text, NULL::integer;
    RETURN;
  END IF;
  SELECT * INTO STRICT tally FROM event_tallies t WHERE t.event_id = p_event FOR UPDATE;
  -- Nobody jumps the queue: while anyone waits, newcomers wait too.
  confirmed := tally.waitlisted = 0 AND tally.confirmed_seats + 1 + cardinality(p_guests) <= ev.capacity;
  RETURN QUERY
    INSERT INTO registrations (id, event_id, member_id, status, guest_names, waitlist_position)
    VALUES (p_registration, p_event, p_member, CASE WHEN confirmed THEN 'confirmed' ELSE 'waitlisted' END,
            p_guests, CASE WHEN confirmed THEN NULL ELSE tally.waitlisted + 1 END)
    RETURNING 'ok'::text, registrations.status, registrations.waitlist_position;
END $$;

-- Registration as one statement: take the place, then write the audit entry and the one message that
-- fits the outcome. p_audit: {sealLock, actorType, actorId, requestId, after}; the outcome's status and
-- waitlist position are added to "after" here. p_confirmed: the confirmation message; p_waitlisted: the
-- waitlist message, whose body is bodyBefore || position || bodyAfter. The shared seal lock is taken
-- before the event lock, so a sealer waiting for it never stalls a member who holds the event.
CREATE FUNCTION clubos_register(p_registration uuid, p_event uuid, p_member uuid, p_guests text[],
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
  written := clubos_audit_write((p_audit->>'sealLock')::boolean, p_audit->>'actorType', p_audit->>'actorId',
    'registration.' || taken.reg_status, 'registration', p_registration::text, NULL,
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
