-- Registration's critical section as one call (INV-6): lock the event row, count seats and the
-- waitlist after the lock (each statement here takes a fresh snapshot), and insert the registration.
-- Registrations for one event queue on that lock, so the fewer round trips it is held across, the
-- more members per second an event can take. The unique index still refuses a second active
-- registration (23505), and the deferred exclusion constraint keeps waitlist positions unique.
CREATE FUNCTION clubos_take_place(p_event uuid, p_member uuid, p_guests text[])
RETURNS TABLE (outcome text, registration_id uuid, reg_status text, wait_position integer,
               title text, starts_at timestamptz, location text)
LANGUAGE plpgsql AS $$
DECLARE
  ev events;
  taken integer;
  waiting integer;
  seats integer := 1 + cardinality(p_guests);
  confirmed boolean;
BEGIN
  SELECT * INTO ev FROM events e WHERE e.id = p_event FOR UPDATE;
  IF NOT FOUND OR ev.status = 'draft' THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::timestamptz, NULL::text;
    RETURN;
  END IF;
  IF ev.status <> 'published' THEN
    RETURN QUERY SELECT ('closed:' || ev.status)::text, NULL::uuid, NULL::text, NULL::integer, ev.title, ev.starts_at, ev.location;
    RETURN;
  END IF;
  IF ev.registration_opens_at IS NOT NULL AND now() < ev.registration_opens_at THEN
    RETURN QUERY SELECT 'not_open'::text, NULL::uuid, NULL::text, NULL::integer, ev.title, ev.starts_at, ev.location;
    RETURN;
  END IF;
  IF ev.registration_closes_at IS NOT NULL AND now() > ev.registration_closes_at THEN
    RETURN QUERY SELECT 'window_closed'::text, NULL::uuid, NULL::text, NULL::integer, ev.title, ev.starts_at, ev.location;
    RETURN;
  END IF;
  SELECT coalesce(sum(1 + cardinality(r.guest_names)) FILTER (WHERE r.status = 'confirmed'), 0),
         count(*) FILTER (WHERE r.status = 'waitlisted')
    INTO taken, waiting
    FROM registrations r WHERE r.event_id = p_event AND r.status IN ('confirmed', 'waitlisted');
  -- Nobody jumps the queue: while anyone waits, newcomers wait too.
  confirmed := waiting = 0 AND taken + seats <= ev.capacity;
  RETURN QUERY
    INSERT INTO registrations (event_id, member_id, status, guest_names, waitlist_position)
    VALUES (p_event, p_member, CASE WHEN confirmed THEN 'confirmed' ELSE 'waitlisted' END, p_guests,
            CASE WHEN confirmed THEN NULL ELSE waiting + 1 END)
    RETURNING 'ok'::text, registrations.id, registrations.status, registrations.waitlist_position,
              ev.title, ev.starts_at, ev.location;
END $$;
