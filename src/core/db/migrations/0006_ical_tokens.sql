-- Personal calendar feed tokens: a member's secret feed address (/members/feed/<token>.ics) lists
-- members-only events, so only a sha256 hash of the token is stored. One per member; rotating replaces
-- the hash, and the old address stops working at once.

CREATE TABLE member_feed_tokens (
  member_id uuid PRIMARY KEY REFERENCES members (id) ON DELETE RESTRICT,
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER member_feed_tokens_timestamps BEFORE INSERT OR UPDATE ON member_feed_tokens
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
