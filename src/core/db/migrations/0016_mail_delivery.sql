-- Mail delivery (G11, I-2, I-3, W-6): the outbox gets claims with a lease (a crashed worker's claim
-- expires and another worker takes the message), a stable Message-ID, the time the server accepted it,
-- and two more states: 'held' (no mail server configured: kept in the local mailbox, not sent) and
-- 'dead' (dead letter: the last retry failed, or the server refused for good; an admin may retry it).
-- 'failed' stays valid for rows written before this migration.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
  CHECK (status IN ('pending', 'sent', 'failed', 'cancelled', 'held', 'dead'));
ALTER TABLE outbox
  ADD COLUMN claimed_by text,
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN message_id text,
  ADD COLUMN sent_at timestamptz,
  ADD COLUMN smtp_response text;
-- What a worker claims next: pending messages that are due, oldest first.
DROP INDEX outbox_pending;
CREATE INDEX outbox_due ON outbox (available_at) WHERE status = 'pending';
CREATE INDEX outbox_errors ON outbox (updated_at) WHERE last_error IS NOT NULL;

-- Addresses a mail server refused for good (a 5xx): no more mail is sent to them until an admin
-- retries a message to the address (which clears the mark, audited). Keyed by the lower-cased address.
CREATE TABLE mail_undeliverable (
  address text PRIMARY KEY CHECK (address = lower(address) AND position('@' IN address) > 1),
  reason text NOT NULL,
  outbox_id uuid REFERENCES outbox (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at)
);
CREATE TRIGGER mail_undeliverable_timestamps BEFORE INSERT OR UPDATE ON mail_undeliverable
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
