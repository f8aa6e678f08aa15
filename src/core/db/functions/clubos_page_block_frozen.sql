-- clubos:after 0021_pages
-- INV-4, INV-5: the blocks of a published revision never change either: no block is added to, changed
-- in, moved out of or deleted from a frozen revision (SQLSTATE CB021). The revision row is read FOR
-- SHARE, so a block written while its revision is being published waits for the publish and then sees it.
CREATE OR REPLACE FUNCTION clubos_page_block_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
BEGIN
  ids := CASE TG_OP
    WHEN 'INSERT' THEN ARRAY[NEW.revision_id]
    WHEN 'DELETE' THEN ARRAY[OLD.revision_id]
    ELSE ARRAY[OLD.revision_id, NEW.revision_id] END;
  IF EXISTS (SELECT 1 FROM page_revisions WHERE id = ANY (ids) AND frozen FOR SHARE) THEN
    RAISE EXCEPTION 'a block of a published page revision cannot change: % refused', TG_OP
      USING ERRCODE = 'CB021';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS page_blocks_frozen ON page_blocks;
CREATE TRIGGER page_blocks_frozen BEFORE INSERT OR UPDATE OR DELETE ON page_blocks
  FOR EACH ROW EXECUTE FUNCTION clubos_page_block_frozen();
