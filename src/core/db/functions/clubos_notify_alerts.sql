-- clubos:after 0015_incidents
-- Tells every process that an operator alert was raised or cleared: the mode watcher (src/core/modes.ts)
-- listens on the same channel and reads alerts with the state, so a banner shows within a second.
CREATE OR REPLACE FUNCTION clubos_notify_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('clubos_state', 'alerts');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS operator_alerts_notify ON operator_alerts;
CREATE TRIGGER operator_alerts_notify AFTER INSERT OR UPDATE OR DELETE ON operator_alerts
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_notify_alerts();
