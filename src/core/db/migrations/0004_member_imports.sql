-- CSV member imports (W-5, W-4): the dry run's plan is kept so that confirm applies exactly what was
-- shown. A plan is working data, not a member record: each applied row has its own audit entry and
-- the whole import one summary entry ('member_import.applied').

CREATE TABLE member_imports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  created_by text NOT NULL CHECK (created_by ~ '^(member|operator|system):.+'),
  file_name text NOT NULL DEFAULT '',
  file_hash text NOT NULL CHECK (file_hash ~ '^[0-9a-f]{64}$'),
  -- planned: awaiting confirm; applying: confirm started (a crash leaves it here); applied: done.
  status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'applying', 'applied')),
  plan jsonb NOT NULL,
  result jsonb,
  applied_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK ((status = 'applied') = (applied_at IS NOT NULL AND result IS NOT NULL))
);
CREATE INDEX member_imports_creator ON member_imports (created_by, created_at);
CREATE TRIGGER member_imports_timestamps BEFORE INSERT OR UPDATE ON member_imports
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
