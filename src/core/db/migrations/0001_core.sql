-- Core schema: timestamps discipline, system state, identity, roles, audit log, outbox, ops records.
-- Runs unchanged on PostgreSQL 15+ and on PGlite (PostgreSQL 18): nothing newer than 15 is used.
-- The functions these tables use live in ../functions/ (clubos_touch_timestamps, clubos_refuse_change
-- are created before this migration; the others right after it).

-- Mode and kill switches (O3, D-3): exactly one row.
CREATE TABLE system_state (
  id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  installation_id uuid NOT NULL DEFAULT gen_random_uuid(),
  mode text NOT NULL DEFAULT 'normal' CHECK (mode IN ('normal', 'read-only', 'maintenance')),
  publish_freeze boolean NOT NULL DEFAULT false,
  admin_freeze boolean NOT NULL DEFAULT false,
  preview_off boolean NOT NULL DEFAULT false,
  reason text,
  changed_by text NOT NULL DEFAULT 'system:install',
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER system_state_timestamps BEFORE INSERT OR UPDATE ON system_state
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
INSERT INTO system_state (id) VALUES (1);

-- Members (minimal here; the members issue extends the record).
CREATE TABLE members (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  email text NOT NULL CHECK (position('@' IN email) > 1),
  status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('pending', 'active', 'lapsed', 'expired', 'suspended', 'resigned')),
  version integer NOT NULL DEFAULT 1,
  deleted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE UNIQUE INDEX members_email_unique ON members (lower(email));
CREATE TRIGGER members_timestamps BEFORE INSERT OR UPDATE ON members
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL UNIQUE REFERENCES members (id) ON DELETE RESTRICT,
  password_hash text NOT NULL,
  must_change_password boolean NOT NULL DEFAULT false,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER accounts_timestamps BEFORE INSERT OR UPDATE ON accounts
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- Sessions are ephemeral: losing them only means logging in again, so they cascade with the account.
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash text NOT NULL UNIQUE,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  ended_reason text,
  ip text,
  CHECK (created_at <= last_seen_at)
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed and successful logins, for throttling per account and per address.
CREATE TABLE login_attempts (
  id bigserial PRIMARY KEY,
  email_key text NOT NULL,
  ip text NOT NULL,
  succeeded boolean NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email ON login_attempts (email_key, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

CREATE TABLE api_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  name text NOT NULL CHECK (length(btrim(name)) > 0),
  token_hash text NOT NULL UNIQUE,
  capabilities text[],
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER api_tokens_timestamps BEFORE INSERT OR UPDATE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- Roles: keys of the built-in catalogue in src/core/capabilities.ts (capabilities live in code).
CREATE TABLE roles (
  key text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER roles_timestamps BEFORE INSERT OR UPDATE ON roles
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
INSERT INTO roles (key, name) VALUES
  ('member', 'Member'),
  ('events_chair', 'Events chair'),
  ('membership_chair', 'Membership chair'),
  ('web_editor', 'Web editor'),
  ('full_admin', 'Full administrator'),
  ('operator', 'Operator');

CREATE TABLE role_assignments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  role_key text NOT NULL REFERENCES roles (key) ON DELETE RESTRICT,
  starts_at timestamptz NOT NULL DEFAULT now(),
  ends_at timestamptz,
  granted_by text NOT NULL CHECK (granted_by ~ '^(member|operator|system):.+'),
  ended_by text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK (ends_at IS NULL OR ends_at >= starts_at)
);
CREATE INDEX role_assignments_member ON role_assignments (member_id);
CREATE TRIGGER role_assignments_timestamps BEFORE INSERT OR UPDATE ON role_assignments
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- Audit log (O1): append-only; the application has no update or delete path, and these triggers
-- refuse one from anyone else. Retention: kept forever.
CREATE TABLE audit_log (
  seq bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_type text NOT NULL CHECK (actor_type IN ('member', 'operator', 'system')),
  actor_id text NOT NULL CHECK (length(btrim(actor_id)) > 0),
  action text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
  subject_type text NOT NULL,
  subject_id text NOT NULL,
  before jsonb,
  after jsonb,
  reason text,
  request_id text
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);
CREATE INDEX audit_log_actor ON audit_log (actor_id);
CREATE INDEX audit_log_action ON audit_log (action);
CREATE INDEX audit_log_occurred ON audit_log (occurred_at);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION clubos_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_refuse_change();

-- The hash chain, sealed in seq order after commit (see src/core/audit-chain.ts for why).
CREATE TABLE audit_chain (
  seq bigint PRIMARY KEY REFERENCES audit_log (seq) ON DELETE RESTRICT,
  entry_hash text NOT NULL,
  chain_hash text NOT NULL,
  sealed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION clubos_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_refuse_change();

-- Outbox (W-6): messages written in the action's transaction, delivered only after commit.
CREATE TABLE outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  topic text NOT NULL,
  recipient text,
  subject text,
  body text,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  audit_id uuid NOT NULL REFERENCES audit_log (id) ON DELETE RESTRICT,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  available_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE INDEX outbox_pending ON outbox (available_at) WHERE status = 'pending';
CREATE TRIGGER outbox_timestamps BEFORE INSERT OR UPDATE ON outbox
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();

-- Deploy records (G14, CC-1): one per process start.
CREATE TABLE deploys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  version text NOT NULL,
  git_commit text,
  change_class text NOT NULL CHECK (change_class IN ('docs-only', 'low-risk', 'high-risk', 'emergency')),
  host text NOT NULL,
  process_kind text NOT NULL,
  node_version text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
);

-- Invariant scanner runs (INV-10): every run is kept so violations stay reviewable.
CREATE TABLE invariant_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz NOT NULL,
  actor text NOT NULL,
  ok boolean NOT NULL,
  checks integer NOT NULL,
  violations jsonb NOT NULL,
  CHECK (started_at <= finished_at)
);
