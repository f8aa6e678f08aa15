-- The full member record (INV-1, INV-2): tiers, contact details, status history, directory opt-out.

CREATE TABLE membership_tiers (
  key text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]*$'),
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  renewal_months integer NOT NULL CHECK (renewal_months BETWEEN 1 AND 120),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER membership_tiers_timestamps BEFORE INSERT OR UPDATE ON membership_tiers
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
INSERT INTO membership_tiers (key, name, renewal_months) VALUES
  ('standard', 'Standard', 12),
  ('family', 'Family', 12),
  ('honorary', 'Honorary', 120);

ALTER TABLE members
  ADD COLUMN phone text NOT NULL DEFAULT '',
  ADD COLUMN address text NOT NULL DEFAULT '',
  ADD COLUMN joined_on date NOT NULL DEFAULT current_date,
  ADD COLUMN tier_key text REFERENCES membership_tiers (key) ON DELETE RESTRICT,
  ADD COLUMN renewal_due_on date,
  ADD COLUMN admin_notes text NOT NULL DEFAULT '',
  ADD COLUMN directory_opt_out boolean NOT NULL DEFAULT false;
CREATE INDEX members_name ON members (lower(name), id);
CREATE INDEX members_status ON members (status, lower(name), id);
CREATE INDEX members_renewal_due ON members (renewal_due_on) WHERE status = 'active';

-- Every status change, in order, with who and why; the audit entry of the same action is referenced.
CREATE TABLE member_status_history (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  from_status text,
  to_status text NOT NULL,
  reason text NOT NULL CHECK (length(btrim(reason)) > 0),
  changed_by text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX member_status_history_member ON member_status_history (member_id, changed_at);
CREATE TRIGGER member_status_history_append_only BEFORE UPDATE OR DELETE ON member_status_history
  FOR EACH ROW EXECUTE FUNCTION clubos_refuse_change();

-- Members created before this migration start their history here.
INSERT INTO member_status_history (member_id, from_status, to_status, reason, changed_by, changed_at)
  SELECT id, NULL, status, 'status when history began', 'system:migration', created_at FROM members;
CREATE INDEX members_joined ON members (joined_on, id);
