-- clubos:after 0001_core
-- Tells every process that the mode or a kill switch changed (src/core/modes.ts listens).
CREATE OR REPLACE FUNCTION clubos_notify_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('clubos_state', NEW.version::text);
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS system_state_notify ON system_state;
CREATE TRIGGER system_state_notify AFTER UPDATE ON system_state
  FOR EACH ROW EXECUTE FUNCTION clubos_notify_state();
