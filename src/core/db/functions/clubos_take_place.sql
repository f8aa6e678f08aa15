-- clubos:after 0011_register_in_one_statement
-- Registration's critical section (INV-6): lock the event, check it is open (and, given a version,
-- unchanged since the caller read it), read the tally and insert the registration with the caller's
-- id. Registrations for one event queue on the event's lock, so it is held for as few round trips as
-- possible. The tally row is read FOR UPDATE: every registration change for the event also holds the
-- event lock, but its own lock keeps the count exact even if some future path forgot to. The unique
-- index still refuses a second active registration (23505), and the deferred exclusion constraint
-- keeps waitlist positions unique. Its earlier signature is dropped by 0011.
CREATE OR REPLACE FUNCTION clubos_take_place(p_registration uuid, p_event uuid, p_member uuid, p_guests text[], p_event_version integer)
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
