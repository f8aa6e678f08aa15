-- Restores (REC-1..REC-4, B-4): one row per restore of a backup into this database, kept across the
-- restore itself (the restore leaves this table, the mode, incidents and operator alerts as they are),
-- so that the sign-off that turns writes back on can see what was restored, by whom, and whether the
-- verification suite passed.
CREATE TABLE restores (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  backup_id text NOT NULL CHECK (length(btrim(backup_id)) > 0),
  -- 'started': maintenance on, pre-restore backup being taken; 'verifying': data replaced, suite
  -- running; 'verified' / 'verification_failed': waiting for sign-off (or another restore);
  -- 'failed': nothing was replaced and the mode went back; 'signed_off': writes are on again;
  -- 'superseded': another restore was started after this one.
  status text NOT NULL DEFAULT 'started' CHECK (status IN
    ('started', 'verifying', 'verified', 'verification_failed', 'failed', 'signed_off', 'superseded')),
  reason text NOT NULL CHECK (length(btrim(reason)) > 0),
  previous_mode text NOT NULL CHECK (previous_mode IN ('normal', 'read-only', 'maintenance')),
  started_by text NOT NULL CHECK (started_by ~ '^(member|operator|system):.+'),
  started_at timestamptz NOT NULL DEFAULT now(),
  pre_restore_backup_id text,
  incident_id uuid REFERENCES incidents (id) ON DELETE RESTRICT,
  -- The audit chain's head after the restore: the backup's. Anchors and heads recorded after it by the
  -- replaced data belong to the timeline the restore left.
  chain_seq bigint,
  verification jsonb,
  failure text,
  signed_off_by text CHECK (signed_off_by IS NULL OR signed_off_by ~ '^(member|operator|system):.+'),
  signed_off_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK ((status = 'signed_off') = (signed_off_by IS NOT NULL AND signed_off_at IS NOT NULL))
);
-- At most one restore is under way or waiting for sign-off.
CREATE UNIQUE INDEX restores_one_open ON restores ((true))
  WHERE status IN ('started', 'verifying', 'verified', 'verification_failed');
CREATE TRIGGER restores_timestamps BEFORE INSERT OR UPDATE ON restores
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
