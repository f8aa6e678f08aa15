-- Files and images of the club's website. Their bytes are kept in the database (bytea), not on disk:
-- backups copy database tables, so a restore or a drill brings the files back with the pages that show
-- them, and nothing is ever served from a folder the web server could expose. Uploads are limited in
-- size (CLUBOS_PAGE_FILE_MAX_BYTES), which keeps the rows reasonable.
--
-- page_file_contents holds each distinct content once, by its sha256; it never changes. page_files says
-- which revision carries which content under which name: a new draft copies these rows (references, not
-- bytes), and the rows of a published revision never change (clubos_page_file_frozen).

CREATE TABLE page_file_contents (
  sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- The type detected from the bytes at upload (file-type), never the one the browser claimed.
  content_type text NOT NULL CHECK (content_type ~ '^[a-z]+/[a-z0-9.+-]+$'),
  size integer NOT NULL CHECK (size > 0),
  bytes bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (octet_length(bytes) = size),
  CHECK (encode(sha256(bytes), 'hex') = sha256)
);
CREATE TRIGGER page_file_contents_immutable BEFORE UPDATE ON page_file_contents
  FOR EACH ROW EXECUTE FUNCTION clubos_refuse_change();

CREATE TABLE page_files (
  revision_id uuid NOT NULL REFERENCES page_revisions (id) ON DELETE RESTRICT,
  sha256 text NOT NULL REFERENCES page_file_contents (sha256) ON DELETE RESTRICT,
  -- The name it was uploaded under, offered when it is downloaded.
  file_name text NOT NULL CHECK (length(btrim(file_name)) > 0 AND length(file_name) <= 200),
  created_by text NOT NULL CHECK (created_by ~ '^(member|operator|system):.+'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (revision_id, sha256)
);
CREATE INDEX page_files_content ON page_files (sha256);
