-- Previews of unpublished revisions (R-5) and publishing at a set time.
-- A share link lets a reviewer without an account see ONE revision: only the hash of its token is kept
-- (core/secrets.ts), it expires (at most 7 days after it was made) and can be revoked; every use writes an
-- audit entry ('page.previewed').
CREATE TABLE page_preview_links (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  page_id uuid NOT NULL REFERENCES pages (id) ON DELETE RESTRICT,
  revision_id uuid NOT NULL,
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_by text NOT NULL CHECK (created_by ~ '^(member|operator|system):.+'),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_by text CHECK (revoked_by IS NULL OR revoked_by ~ '^(member|operator|system):.+'),
  -- The revision must be one of the page's own.
  FOREIGN KEY (page_id, revision_id) REFERENCES page_revisions (page_id, id) ON DELETE RESTRICT,
  CHECK (expires_at > created_at AND expires_at <= created_at + interval '7 days'),
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX page_preview_links_page ON page_preview_links (page_id, created_at DESC);

-- A revision to publish at a time, by the scheduled-publish job (an audited system action). One pending
-- per page; done, cancelled and failed ones stay for the record.
CREATE TABLE page_scheduled_publishes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  page_id uuid NOT NULL REFERENCES pages (id) ON DELETE RESTRICT,
  revision_id uuid NOT NULL,
  publish_at timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled', 'failed')),
  created_by text NOT NULL CHECK (created_by ~ '^(member|operator|system):.+'),
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  note text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
  FOREIGN KEY (page_id, revision_id) REFERENCES page_revisions (page_id, id) ON DELETE RESTRICT,
  CHECK ((status = 'pending') = (finished_at IS NULL))
);
CREATE UNIQUE INDEX page_scheduled_publishes_one_pending ON page_scheduled_publishes (page_id)
  WHERE status = 'pending';
CREATE INDEX page_scheduled_publishes_due ON page_scheduled_publishes (publish_at) WHERE status = 'pending';
