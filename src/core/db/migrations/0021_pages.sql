-- The club's website (INV-4, INV-5): pages and news posts, their revisions and the revisions' blocks.
-- A revision is a draft until it is published; publishing records its content hash and freezes it,
-- after which neither the revision nor its blocks can change (the triggers in
-- ../functions/clubos_page_revision_frozen.sql and clubos_page_block_frozen.sql refuse it).

CREATE TABLE pages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
  kind text NOT NULL DEFAULT 'page' CHECK (kind IN ('page', 'news')),
  -- The date a news post carries and is listed by (newest first); set at its first publish if empty.
  published_on date,
  -- In the site navigation when nav_order is set; children are listed after their parent.
  nav_parent_id uuid REFERENCES pages (id) ON DELETE RESTRICT,
  nav_order integer CHECK (nav_order IS NULL OR nav_order BETWEEN 0 AND 10000),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'unpublished', 'archived')),
  current_published_revision_id uuid,
  version integer NOT NULL DEFAULT 1,
  created_by text NOT NULL CHECK (created_by ~ '^(member|operator|system):.+'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (created_at <= updated_at),
  CHECK (nav_parent_id IS NULL OR nav_parent_id <> id),
  -- INV-4: a published page has exactly one current published revision, any other page none.
  CHECK ((status = 'published') = (current_published_revision_id IS NOT NULL))
);
CREATE TRIGGER pages_timestamps BEFORE INSERT OR UPDATE ON pages
  FOR EACH ROW EXECUTE FUNCTION clubos_touch_timestamps();
CREATE INDEX pages_nav ON pages (nav_order) WHERE status = 'published' AND nav_order IS NOT NULL;
CREATE INDEX pages_news ON pages (published_on DESC) WHERE kind = 'news' AND status = 'published';

CREATE TABLE page_revisions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  page_id uuid NOT NULL REFERENCES pages (id) ON DELETE RESTRICT,
  number integer NOT NULL CHECK (number > 0),
  title text NOT NULL CHECK (length(btrim(title)) > 0 AND length(title) <= 200),
  summary text NOT NULL DEFAULT '' CHECK (length(summary) <= 1000),
  -- Who may see the revision (src/domains/pages/audience.ts); anything it cannot read denies.
  audience jsonb NOT NULL DEFAULT '{"type":"public"}'::jsonb,
  -- The revision this one was copied from (a new draft of a published page, a roll-back).
  based_on_revision_id uuid REFERENCES page_revisions (id) ON DELETE RESTRICT,
  created_by text NOT NULL CHECK (created_by ~ '^(member|operator|system):.+'),
  created_at timestamptz NOT NULL DEFAULT now(),
  frozen boolean NOT NULL DEFAULT false,
  content_hash text,
  published_at timestamptz,
  published_by text CHECK (published_by IS NULL OR published_by ~ '^(member|operator|system):.+'),
  UNIQUE (page_id, number),
  UNIQUE (page_id, id),
  -- A frozen revision is exactly a published one: it carries its hash, when and by whom.
  CHECK (frozen = (content_hash IS NOT NULL) AND frozen = (published_at IS NOT NULL)
         AND frozen = (published_by IS NOT NULL))
);
-- One draft at a time per page: editing always works on it. Deferred, so a roll-back can build its new
-- revision (a draft until frozen, in the same transaction) while the page keeps its draft.
ALTER TABLE page_revisions ADD CONSTRAINT page_revisions_one_draft
  EXCLUDE USING btree (page_id WITH =) WHERE (NOT frozen) DEFERRABLE INITIALLY DEFERRED;

-- The current published revision must be one of the page's own, and a frozen one.
ALTER TABLE pages ADD CONSTRAINT pages_current_revision_own
  FOREIGN KEY (id, current_published_revision_id) REFERENCES page_revisions (page_id, id)
  ON DELETE RESTRICT;

CREATE TABLE page_blocks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  revision_id uuid NOT NULL REFERENCES page_revisions (id) ON DELETE RESTRICT,
  -- INV-5: an explicit order, one block per place (deferred so a move swaps two in one transaction).
  position integer NOT NULL CHECK (position > 0),
  -- Open list: the renderer refuses a type it does not know (the page is then not shown).
  type text NOT NULL CHECK (type ~ '^[a-z_]{1,40}$'),
  audience jsonb,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  CONSTRAINT page_blocks_position UNIQUE (revision_id, position) DEFERRABLE INITIALLY DEFERRED
);
