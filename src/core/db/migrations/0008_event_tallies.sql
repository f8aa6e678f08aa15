-- Seats and waitlist length per event, kept by a trigger on registrations, so that taking a place
-- reads two numbers instead of counting every registration of the event under the event's lock
-- (that count grew with the event: the 3,000th registration of a stampede waited on 2,999 rows).
-- The trigger fires on every change of status or guests, whichever code path makes it, so the tally
-- cannot be forgotten; the invariant check events.tallies compares it with a fresh count.
CREATE TABLE event_tallies (
  event_id uuid PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
  confirmed_seats integer NOT NULL DEFAULT 0 CHECK (confirmed_seats >= 0),
  waitlisted integer NOT NULL DEFAULT 0 CHECK (waitlisted >= 0)
);

INSERT INTO event_tallies (event_id, confirmed_seats, waitlisted)
SELECT e.id,
       coalesce(sum(1 + cardinality(r.guest_names)) FILTER (WHERE r.status = 'confirmed'), 0),
       count(r.id) FILTER (WHERE r.status = 'waitlisted')
FROM events e LEFT JOIN registrations r ON r.event_id = e.id
GROUP BY e.id;

CREATE FUNCTION clubos_event_tally_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_tallies (event_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER events_tally_row AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION clubos_event_tally_row();

CREATE FUNCTION clubos_registration_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE event_tallies SET
      confirmed_seats = confirmed_seats - CASE WHEN OLD.status = 'confirmed' THEN 1 + cardinality(OLD.guest_names) ELSE 0 END,
      waitlisted = waitlisted - CASE WHEN OLD.status = 'waitlisted' THEN 1 ELSE 0 END
    WHERE event_id = OLD.event_id AND OLD.status IN ('confirmed', 'waitlisted');
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE event_tallies SET
      confirmed_seats = confirmed_seats + CASE WHEN NEW.status = 'confirmed' THEN 1 + cardinality(NEW.guest_names) ELSE 0 END,
      waitlisted = waitlisted + CASE WHEN NEW.status = 'waitlisted' THEN 1 ELSE 0 END
    WHERE event_id = NEW.event_id AND NEW.status IN ('confirmed', 'waitlisted');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER registrations_tally AFTER INSERT OR DELETE OR UPDATE OF status, guest_names, event_id ON registrations
  FOR EACH ROW EXECUTE FUNCTION clubos_registration_tally();

-- The critical section again (see 0007), now reading the tally. The tally row is read FOR UPDATE:
-- every registration change for this event also holds the event lock, but reading the tally under its
-- own lock keeps the count exact even if some future path forgot to. It also reads the member's name
-- and email for the confirmation message, before taking the lock, which saves the caller a round trip.
DROP FUNCTION clubos_take_place(uuid, uuid, text[]);
CREATE FUNCTION clubos_take_place(p_event uuid, p_member uuid, p_guests text[])
RETURNS TABLE (outcome text, registration_id uuid, reg_status text, wait_position integer,
               title text, starts_at timestamptz, location text, member_name text, member_email text)
LANGUAGE plpgsql AS $$
DECLARE
  ev events;
  tally event_tallies;
  seats integer := 1 + cardinality(p_guests);
  confirmed boolean;
  who members;
BEGIN
  SELECT * INTO who FROM members m WHERE m.id = p_member AND m.deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_member'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::timestamptz, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  SELECT * INTO ev FROM events e WHERE e.id = p_event FOR NO KEY UPDATE;
  IF NOT FOUND OR ev.status = 'draft' THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::timestamptz, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;
  IF ev.status <> 'published' THEN
    RETURN QUERY SELECT ('closed:' || ev.status)::text, NULL::uuid, NULL::text, NULL::integer, ev.title, ev.starts_at, ev.location, who.name, who.email;
    RETURN;
  END IF;
  IF ev.registration_opens_at IS NOT NULL AND now() < ev.registration_opens_at THEN
    RETURN QUERY SELECT 'not_open'::text, NULL::uuid, NULL::text, NULL::integer, ev.title, ev.starts_at, ev.location, who.name, who.email;
    RETURN;
  END IF;
  IF ev.registration_closes_at IS NOT NULL AND now() > ev.registration_closes_at THEN
    RETURN QUERY SELECT 'window_closed'::text, NULL::uuid, NULL::text, NULL::integer, ev.title, ev.starts_at, ev.location, who.name, who.email;
    RETURN;
  END IF;
  SELECT * INTO STRICT tally FROM event_tallies t WHERE t.event_id = p_event FOR UPDATE;
  -- Nobody jumps the queue: while anyone waits, newcomers wait too.
  confirmed := tally.waitlisted = 0 AND tally.confirmed_seats + seats <= ev.capacity;
  RETURN QUERY
    INSERT INTO registrations (event_id, member_id, status, guest_names, waitlist_position)
    VALUES (p_event, p_member, CASE WHEN confirmed THEN 'confirmed' ELSE 'waitlisted' END, p_guests,
            CASE WHEN confirmed THEN NULL ELSE tally.waitlisted + 1 END)
    RETURNING 'ok'::text, registrations.id, registrations.status, registrations.waitlist_position,
              ev.title, ev.starts_at, ev.location, who.name, who.email;
END $$;
