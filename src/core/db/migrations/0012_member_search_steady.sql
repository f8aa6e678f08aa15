-- The trigram indexes of 0009 without GIN's pending list: with fastupdate on, new members wait in an
-- unsorted list that every search scans until a vacuum merges it, so search time after an import
-- depended on when autovacuum last ran (seen: 8 ms, then 70 ms, at 100,000 members). Members are added
-- rarely, so each insert pays to update the index at once and every search stays on the index.
ALTER INDEX members_name_trgm SET (fastupdate = off);
ALTER INDEX members_email_trgm SET (fastupdate = off);
-- Turning fastupdate off does not flush what is already pending.
SELECT gin_clean_pending_list('members_name_trgm'::regclass);
SELECT gin_clean_pending_list('members_email_trgm'::regclass);
