-- Login throttling that slows down instead of locking out (G03, S-2). One row per thing being slowed
-- down: an account ('account:<email>'), an address ('address:<ip>'), an account at an address it signed
-- in from before ('known:<email> <ip>'), a browser that signed in before ('device:<token hash>'). An
-- attempt is counted before its password is checked, in the one statement that also decides whether
-- it may go ahead (the row lock of the upsert), so concurrent guesses cannot pass the limit. email_key
-- names the account the row slows down, so clearing a person's throttle finds all of theirs.
CREATE TABLE login_throttles (
  key text PRIMARY KEY CHECK (length(key) > 0),
  email_key text,
  failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
  last_failure_at timestamptz
);
CREATE INDEX login_throttles_email ON login_throttles (email_key) WHERE email_key IS NOT NULL;

-- Browsers that signed in successfully: the cookie holds a random secret, this table its hash and the
-- account it signed in to. A login from such a browser is slowed down on its own, not by failures
-- elsewhere.
CREATE TABLE login_devices (
  token_hash text PRIMARY KEY,
  email_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= last_used_at)
);
CREATE INDEX login_devices_email ON login_devices (email_key);
-- "Has this account signed in from this address before": read on every login.
CREATE INDEX login_attempts_known ON login_attempts (email_key, ip) WHERE succeeded;

-- A member's own choice about announcements (transactional mail is always sent).
ALTER TABLE members ADD COLUMN email_announcements boolean NOT NULL DEFAULT true;
