-- clubos:after 0021_pages
-- INV-4: a published revision never changes. Publishing is the one update a draft takes into the
-- frozen state; after it, any UPDATE or DELETE of the revision is refused with SQLSTATE CB021, whoever
-- sends it (the application refuses first, with a message: src/domains/pages/pages.actions.ts).
CREATE OR REPLACE FUNCTION clubos_page_revision_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.frozen THEN
    RAISE EXCEPTION 'page revision % is published and cannot change: % refused', OLD.id, TG_OP
      USING ERRCODE = 'CB021';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS page_revisions_frozen ON page_revisions;
CREATE TRIGGER page_revisions_frozen BEFORE UPDATE OR DELETE ON page_revisions
  FOR EACH ROW EXECUTE FUNCTION clubos_page_revision_frozen();
