-- clubos:after 0023_page_files
-- INV-4: the files of a published revision never change either: none is added to, changed in or
-- removed from a frozen revision (SQLSTATE CB021), as for its blocks (clubos_page_block_frozen).
CREATE OR REPLACE FUNCTION clubos_page_file_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
BEGIN
  ids := CASE TG_OP
    WHEN 'INSERT' THEN ARRAY[NEW.revision_id]
    WHEN 'DELETE' THEN ARRAY[OLD.revision_id]
    ELSE ARRAY[OLD.revision_id, NEW.revision_id] END;
  IF EXISTS (SELECT 1 FROM page_revisions WHERE id = ANY (ids) AND frozen FOR SHARE) THEN
    RAISE EXCEPTION 'a file of a published page revision cannot change: % refused', TG_OP
      USING ERRCODE = 'CB021';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS page_files_frozen ON page_files;
CREATE TRIGGER page_files_frozen BEFORE INSERT OR UPDATE OR DELETE ON page_files
  FOR EACH ROW EXECUTE FUNCTION clubos_page_file_frozen();
