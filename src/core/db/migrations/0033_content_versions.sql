-- Two one-row versions a server reads on every published-page request instead of the rows they stand
-- for (issue 10): 'site' changes with every statement that can change what the public site serves
-- (which pages are published, at which revision, under which slug and in which place of the
-- navigation), 'access' with every statement that can change who a session is and what its member may
-- see (the session's end, the account, the member's name, status, tier and deletion, role grants and
-- committee places). A server keeps what it read under the version it read it with; a request reads
-- the versions (one primary-key row each, src/core/db/content-versions.ts) and uses what it kept only
-- under the same version, so a change committed by any process is seen by the next request.
--
-- A version is a fresh random value on every change, not a counter: a restore brings back older rows
-- with the version they were read under, and a counter could come back to a value a server kept newer
-- rows under. The statement-level triggers that change them are in
-- ../functions/clubos_bump_content_version.sql, applied in this migration's transaction.
CREATE TABLE content_versions (
  name text PRIMARY KEY CHECK (name IN ('site', 'access')),
  version uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO content_versions (name) VALUES ('site'), ('access');
