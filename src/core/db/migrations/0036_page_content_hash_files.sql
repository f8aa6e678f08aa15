-- The content hash of a published revision now covers its files too (the names they are downloaded
-- under, and which contents: ../functions/clubos_page_content_hash.sql, applied again before this
-- migration). Revisions without files hash as before; those with files published before this change get
-- their hash recorded again here, the one time a published revision's row is written after publish: the
-- freeze trigger is set aside for this statement only, inside this migration's transaction.
ALTER TABLE page_revisions DISABLE TRIGGER page_revisions_frozen;
UPDATE page_revisions r SET content_hash = clubos_page_content_hash(r.id)
  WHERE r.frozen AND EXISTS (SELECT 1 FROM page_files f WHERE f.revision_id = r.id);
ALTER TABLE page_revisions ENABLE TRIGGER page_revisions_frozen;
