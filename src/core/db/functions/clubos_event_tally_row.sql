-- clubos:after 0008_event_tallies
-- Every new event starts with an empty tally row (event_tallies, kept by clubos_registration_tally).
CREATE OR REPLACE FUNCTION clubos_event_tally_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_tallies (event_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS events_tally_row ON events;
CREATE TRIGGER events_tally_row AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION clubos_event_tally_row();
