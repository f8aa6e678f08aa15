-- Messages a club sends: renewal reminders and announcements.

-- One row per reminder sent: a member, the renewal date it was about, and the step (days before that
-- date). Written in the transaction that writes the reminder's outbox row, so the primary key is what
-- makes a reminder go out once per member, period and step, however many runs or servers try.
CREATE TABLE renewal_reminders (
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  due_on date NOT NULL,
  step integer NOT NULL CHECK (step >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, due_on, step)
);

-- An announcement an admin sent: what it said, to whom it was meant, and how many were skipped (opted
-- out, undeliverable). What happened to each message is read from its outbox row
-- (payload->>'announcementId').
CREATE TABLE announcements (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject text NOT NULL CHECK (length(subject) > 0),
  body text NOT NULL,
  audience jsonb NOT NULL,
  audience_label text NOT NULL,
  queued integer NOT NULL CHECK (queued >= 0),
  skipped_opted_out integer NOT NULL CHECK (skipped_opted_out >= 0),
  skipped_undeliverable integer NOT NULL CHECK (skipped_undeliverable >= 0),
  sent_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcements_newest ON announcements (created_at DESC, id DESC);
CREATE INDEX outbox_announcement ON outbox ((payload->>'announcementId'))
  WHERE payload ? 'announcementId';

-- The one-click unsubscribe links of announcements (RFC 8058): only the hash of each random token is
-- kept; a link keeps working (turning announcements off again is harmless), so there is no expiry.
CREATE TABLE unsubscribe_links (
  token_hash text PRIMARY KEY,
  member_id uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
  announcement_id uuid REFERENCES announcements (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at timestamptz
);
CREATE INDEX unsubscribe_links_member ON unsubscribe_links (member_id);
