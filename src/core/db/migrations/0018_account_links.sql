-- Single-use links that give a member a password: invitations (their first login) and password resets.
-- Only a sha256 hash of a link's token is kept (core/secrets.ts), as for sessions and API tokens: whoever
-- reads the database cannot use a link. A link is open until it is used, revoked (an admin revokes it, or
-- a newer link of the same kind replaces it) or past expires_at. A member has at most one open link of
-- each kind (the partial unique index), so a resend revokes the old link in the same transaction.
CREATE TABLE account_links (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  purpose text NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE RESTRICT,
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK (used_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX account_links_one_open ON account_links (member_id, purpose)
  WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE TRIGGER account_links_timestamps BEFORE INSERT OR UPDATE ON account_links
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
