-- Events and registrations (INV-6), and idempotency keys for externally triggered writes (W-3).

CREATE TABLE committees (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER committees_timestamps BEFORE INSERT OR UPDATE ON committees
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

CREATE TABLE events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title text NOT NULL CHECK (length(btrim(title)) > 0),
  description text NOT NULL DEFAULT '',
  location text NOT NULL DEFAULT '',
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  capacity integer NOT NULL CHECK (capacity >= 0),
  registration_opens_at timestamptz,
  registration_closes_at timestamptz,
  audience text NOT NULL DEFAULT 'members' CHECK (audience IN ('public', 'members')),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'cancelled', 'completed')),
  committee_id uuid REFERENCES committees (id) ON DELETE RESTRICT,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK (starts_at <= ends_at),
  CHECK (registration_opens_at IS NULL OR registration_closes_at IS NULL OR registration_opens_at <= registration_closes_at)
);
CREATE INDEX events_listing ON events (status, starts_at);
CREATE TRIGGER events_timestamps BEFORE INSERT OR UPDATE ON events
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

CREATE TABLE registrations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id uuid NOT NULL REFERENCES events (id) ON DELETE RESTRICT,
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  status text NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
  guest_names text[] NOT NULL DEFAULT '{}',
  waitlist_position integer CHECK (waitlist_position IS NULL OR waitlist_position > 0),
  checked_in_at timestamptz,
  no_show boolean NOT NULL DEFAULT false,
  cancelled_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK ((status = 'waitlisted') = (waitlist_position IS NOT NULL)),
  CHECK (cardinality(guest_names) <= 10)
);
-- INV-6: one active registration per member and event.
CREATE UNIQUE INDEX registrations_one_active ON registrations (event_id, member_id)
  WHERE status IN ('confirmed', 'waitlisted');
-- Waitlist positions are unique per event; deferred so one statement can close a gap.
ALTER TABLE registrations ADD CONSTRAINT registrations_waitlist_position
  EXCLUDE USING btree (event_id WITH =, waitlist_position WITH =) WHERE (status = 'waitlisted')
  DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX registrations_member ON registrations (member_id);
CREATE TRIGGER registrations_timestamps BEFORE INSERT OR UPDATE ON registrations
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- W-3: a replayed request with the same key returns the first response and writes nothing.
CREATE TABLE idempotency_keys (
  caller text NOT NULL,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash text NOT NULL,
  response_status integer NOT NULL,
  response_body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
