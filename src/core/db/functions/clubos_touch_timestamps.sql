-- clubos:after none
-- INV-9: created_at never changes, updated_at is set by the database and never moves backwards.
-- Every table with timestamps attaches it in its own migration (CREATE TRIGGER <table>_timestamps),
-- so it references no table and is created before the first migration.
CREATE OR REPLACE FUNCTION clubos_touch_timestamps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.updated_at := GREATEST(COALESCE(NEW.updated_at, NEW.created_at), NEW.created_at);
    RETURN NEW;
  END IF;
  IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'created_at of % is immutable (INV-9)', TG_TABLE_NAME USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.updated_at < OLD.updated_at THEN
    RAISE EXCEPTION 'updated_at of % cannot move backwards (INV-9)', TG_TABLE_NAME USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := GREATEST(clock_timestamp(), OLD.updated_at);
  RETURN NEW;
END $$;
