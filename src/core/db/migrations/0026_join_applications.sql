-- The club's own settings that admins change in the UI (one row), starting with the public join form.
-- Each change is an audited action (settings.actions.ts); off until an admin opens it.
CREATE TABLE club_settings (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  join_form_open boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
INSERT INTO club_settings (only_row) VALUES (true);

-- Each tier says how an approved application starts: pending (the club still has a step, such as a
-- first payment) or active at once.
ALTER TABLE membership_tiers
  ADD COLUMN join_status text NOT NULL DEFAULT 'pending' CHECK (join_status IN ('pending', 'active'));

-- Applications through the public join form. An application exists only once its email address is
-- confirmed (confirmed_at), or until its confirmation link expires (confirm_expires_at); only the
-- sha256 hash of that link's token is kept (core/secrets.ts). A confirmed application waits for an
-- admin, who approves it (member_id: the member made from it) or rejects it with a reason.
CREATE TABLE join_applications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  email text NOT NULL CHECK (length(email) > 0),
  phone text NOT NULL DEFAULT '',
  tier_key text NOT NULL REFERENCES membership_tiers (key) ON DELETE RESTRICT,
  message text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'unconfirmed'
    CHECK (status IN ('unconfirmed', 'confirmed', 'approved', 'rejected')),
  confirm_token_hash text UNIQUE CHECK (confirm_token_hash ~ '^[0-9a-f]{64}$'),
  confirm_expires_at timestamptz NOT NULL,
  confirmed_at timestamptz,
  decided_at timestamptz,
  decided_by text,
  reason text,
  member_id uuid REFERENCES members (id) ON DELETE RESTRICT,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK ((status = 'unconfirmed') = (confirmed_at IS NULL)),
  CHECK ((status IN ('approved', 'rejected')) = (decided_at IS NOT NULL)),
  CHECK ((status = 'approved') = (member_id IS NOT NULL)),
  CHECK (status <> 'rejected' OR length(btrim(coalesce(reason, ''))) > 0)
);
CREATE INDEX join_applications_queue ON join_applications (confirmed_at) WHERE status = 'confirmed';
CREATE INDEX join_applications_unconfirmed ON join_applications (confirm_expires_at)
  WHERE status = 'unconfirmed';
CREATE TRIGGER join_applications_timestamps BEFORE INSERT OR UPDATE ON join_applications
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
CREATE TRIGGER club_settings_timestamps BEFORE UPDATE ON club_settings
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
