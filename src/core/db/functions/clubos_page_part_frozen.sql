-- clubos:after 0031_one_page_part_frozen_trigger
-- INV-4, INV-5: the parts of a published revision (its blocks, its files) never change either: none is
-- added to, changed in, moved out of or deleted from a frozen revision (SQLSTATE CB021). The trigger's
-- one argument (TG_ARGV[0]) names the part for the message. The revision row is read FOR SHARE, so a
-- part written while its revision is being published waits for the publish and then sees it.
CREATE OR REPLACE FUNCTION clubos_page_part_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
BEGIN
  ids := CASE TG_OP
    WHEN 'INSERT' THEN ARRAY[NEW.revision_id]
    WHEN 'DELETE' THEN ARRAY[OLD.revision_id]
    ELSE ARRAY[OLD.revision_id, NEW.revision_id] END;
  IF EXISTS (SELECT 1 FROM page_revisions WHERE id = ANY (ids) AND frozen FOR SHARE) THEN
    RAISE EXCEPTION 'a % of a published page revision cannot change: % refused', TG_ARGV[0], TG_OP
      USING ERRCODE = 'CB021';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS page_blocks_frozen ON page_blocks;
CREATE TRIGGER page_blocks_frozen BEFORE INSERT OR UPDATE OR DELETE ON page_blocks
  FOR EACH ROW EXECUTE FUNCTION clubos_page_part_frozen('block');
DROP TRIGGER IF EXISTS page_files_frozen ON page_files;
CREATE TRIGGER page_files_frozen BEFORE INSERT OR UPDATE OR DELETE ON page_files
  FOR EACH ROW EXECUTE FUNCTION clubos_page_part_frozen('file');
