-- clubos:after 0015_incidents
-- Keeps system_state.degraded_since (D-2): set when the system leaves normal (a mode other than normal
-- or any kill switch on), kept while it stays degraded, cleared when all is normal again.
CREATE OR REPLACE FUNCTION clubos_degraded_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.mode <> 'normal' OR NEW.publish_freeze OR NEW.admin_freeze OR NEW.preview_off THEN
    NEW.degraded_since := coalesce(NEW.degraded_since, OLD.degraded_since, clock_timestamp());
  ELSE
    NEW.degraded_since := NULL;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS system_state_degraded_since ON system_state;
CREATE TRIGGER system_state_degraded_since BEFORE UPDATE ON system_state
  FOR EACH ROW EXECUTE FUNCTION clubos_degraded_since();
