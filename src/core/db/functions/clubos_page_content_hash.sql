-- clubos:after 0023_page_files
-- The content hash of a page revision: sha256 of its title, summary, audience, ordered blocks and, when
-- it carries any, its files (each by content hash and the name it is downloaded under), as jsonb text
-- (jsonb orders keys, so the same content always gives the same text). A revision without files hashes
-- as it did before files were counted (0036). Recorded at publish; the invariant check
-- pages.published_unchanged recomputes it, so the two can never disagree.
CREATE OR REPLACE FUNCTION clubos_page_content_hash(revision uuid) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to((jsonb_build_object(
    'title', r.title,
    'summary', r.summary,
    'audience', r.audience,
    'blocks', coalesce((
      SELECT jsonb_agg(jsonb_build_object('position', b.position, 'type', b.type,
                                          'audience', b.audience, 'data', b.data) ORDER BY b.position)
      FROM page_blocks b WHERE b.revision_id = r.id), '[]'::jsonb)
  ) || coalesce((
      SELECT jsonb_build_object('files', jsonb_agg(jsonb_build_object('sha256', f.sha256,
                                                                      'name', f.file_name) ORDER BY f.sha256))
      FROM page_files f WHERE f.revision_id = r.id HAVING count(*) > 0), '{}'::jsonb)
  )::text, 'UTF8')), 'hex')
  FROM page_revisions r WHERE r.id = revision
$$;
