-- Incidents, area owners, the decision log and operator alerts (H-1..H-4, D-2, INV-10).

-- Operator alerts (core, src/core/alerts.ts): a condition any domain raises and clears inside its own
-- transaction, shown as a banner on every admin page. One row per condition, keyed by who raised it.
CREATE TABLE operator_alerts (
  key text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9_.:-]*$'),
  severity text NOT NULL CHECK (severity IN ('critical', 'warning')),
  message text NOT NULL CHECK (length(btrim(message)) > 0),
  link text CHECK (link IS NULL OR link ~ '^/'),
  since timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER operator_alerts_timestamps BEFORE INSERT OR UPDATE ON operator_alerts
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- Since when the system has been degraded (a mode other than normal or any switch on); null when
-- normal. Kept by the clubos_degraded_since trigger, read for D-2 (over an hour needs an incident).
ALTER TABLE system_state ADD COLUMN degraded_since timestamptz;
UPDATE system_state SET degraded_since = updated_at
  WHERE mode <> 'normal' OR publish_freeze OR admin_freeze OR preview_off;

-- Incidents (H-1, H-2): declared by a full admin or opened by the system (invariant scan, backups).
CREATE TABLE incidents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  number integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  severity text NOT NULL CHECK (severity IN ('SEV-1', 'SEV-2', 'SEV-3')),
  title text NOT NULL CHECK (length(btrim(title)) > 0),
  area text CHECK (area IN ('data', 'security', 'publishing', 'email')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  opened_by text NOT NULL CHECK (opened_by ~ '^(member|operator|system):.+'),
  opened_at timestamptz NOT NULL DEFAULT now(),
  closed_by text CHECK (closed_by IS NULL OR closed_by ~ '^(member|operator|system):.+'),
  closed_at timestamptz,
  review text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL AND closed_by IS NOT NULL)),
  CHECK (closed_at IS NULL OR closed_at >= opened_at),
  -- A SEV-1 is closed only with its review (H-2); the action says so first, in words.
  CHECK (status = 'open' OR severity <> 'SEV-1' OR length(btrim(coalesce(review, ''))) > 0)
);
CREATE INDEX incidents_open ON incidents (opened_at) WHERE status = 'open';
CREATE TRIGGER incidents_timestamps BEFORE INSERT OR UPDATE ON incidents
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- The incident timeline (H-4 decision log): append-only like the audit log it sits beside.
CREATE TABLE incident_entries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE RESTRICT,
  kind text NOT NULL CHECK (kind IN ('note', 'decision', 'confirmation')),
  actor text NOT NULL CHECK (actor ~ '^(member|operator|system):.+'),
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- A decision's action ("mode read-only"); its rationale is the text.
  action text CHECK ((kind = 'decision') = (action IS NOT NULL)),
  text text NOT NULL CHECK (length(btrim(text)) > 0)
);
CREATE INDEX incident_entries_incident ON incident_entries (incident_id, at);
CREATE TRIGGER incident_entries_append_only BEFORE UPDATE OR DELETE ON incident_entries
  FOR EACH ROW EXECUTE FUNCTION clubos_refuse_change();

-- One owner (a member) per critical area; incidents in the area go to them.
CREATE TABLE area_owners (
  area text PRIMARY KEY CHECK (area IN ('data', 'security', 'publishing', 'email')),
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  set_by text NOT NULL CHECK (set_by ~ '^(member|operator|system):.+'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER area_owners_timestamps BEFORE INSERT OR UPDATE ON area_owners
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- Until someone is named, every area has no owner: say so from the start (refreshed by the actions).
INSERT INTO operator_alerts (key, severity, message, link) VALUES
  ('ops.area_owners', 'warning',
   'No owner for: data and backups, security, publishing, email. Name one for each area on the incidents page.',
   '/admin/incidents');
