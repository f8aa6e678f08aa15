-- Committees and their members' terms (authoritative: who chairs what, since when, granted by whom).
-- A chair may manage their committee's events (src/domains/events/event-access.ts), so a term is a
-- privilege grant: it names who granted it, and ending it keeps the row (history is never lost).

CREATE TABLE committee_memberships (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  committee_id uuid NOT NULL REFERENCES committees (id) ON DELETE RESTRICT,
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  role text NOT NULL CHECK (role IN ('chair', 'member')),
  starts_at timestamptz NOT NULL DEFAULT now(),
  ends_at timestamptz,
  granted_by text NOT NULL CHECK (granted_by ~ '^(member|operator|system):.+'),
  ended_by text CHECK (ended_by IS NULL OR ended_by ~ '^(member|operator|system):.+'),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  -- A term cancelled before it began ends where it starts: zero length, never current.
  CHECK (ends_at IS NULL OR ends_at >= starts_at)
);
CREATE INDEX committee_memberships_committee ON committee_memberships (committee_id, starts_at);
CREATE INDEX committee_memberships_member ON committee_memberships (member_id, committee_id);
CREATE TRIGGER committee_memberships_timestamps BEFORE INSERT OR UPDATE ON committee_memberships
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
