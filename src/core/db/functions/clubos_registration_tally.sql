-- clubos:after 0008_event_tallies
-- Seats and waitlist length per event (event_tallies), kept by a trigger on registrations, so that
-- taking a place reads two numbers instead of counting every registration under the event's lock.
-- The trigger fires on every change of status or guests, whichever code path makes it, so the tally
-- cannot be forgotten; the invariant check events.tallies compares it with a fresh count.
CREATE OR REPLACE FUNCTION clubos_registration_tally() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TRIGGER IF EXISTS registrations_tally ON registrations;
CREATE TRIGGER registrations_tally AFTER INSERT OR DELETE OR UPDATE OF status, guest_names, event_id ON registrations
  FOR EACH ROW EXECUTE FUNCTION clubos_registration_tally();
