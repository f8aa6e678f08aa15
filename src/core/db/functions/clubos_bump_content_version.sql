-- clubos:after 0033_content_versions
-- Gives one of the content versions (../migrations/0033_content_versions.sql, named by the trigger's
-- argument) a new value: once per statement, so an import of a thousand members changes it once, and
-- in the statement's transaction, so the new version is seen exactly when the change is. Only the
-- columns that decide what is served or who may see it fire the triggers: a draft edit, a session's
-- last_seen_at (touched every 15 s while it is used), a password hash or a new session or member
-- (nothing kept refers to them yet) change nothing a server keeps, and take no lock on the version row.
CREATE OR REPLACE FUNCTION clubos_bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE content_versions SET version = gen_random_uuid() WHERE name = TG_ARGV[0];
  RETURN NULL;
END $$;

-- What the public site serves: a page's published state, slug and place (publishedPageState,
-- navigationWithKey), and the freezing of a revision (its content hash).
DROP TRIGGER IF EXISTS pages_site_version ON pages;
CREATE TRIGGER pages_site_version
  AFTER INSERT OR DELETE OR UPDATE OF slug, kind, published_on, nav_parent_id, nav_order, status,
    current_published_revision_id ON pages
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('site');
DROP TRIGGER IF EXISTS pages_site_version_truncate ON pages;
CREATE TRIGGER pages_site_version_truncate AFTER TRUNCATE ON pages
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('site');
DROP TRIGGER IF EXISTS page_revisions_site_version ON page_revisions;
CREATE TRIGGER page_revisions_site_version
  AFTER DELETE OR UPDATE OF frozen, content_hash ON page_revisions
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('site');
DROP TRIGGER IF EXISTS page_revisions_site_version_truncate ON page_revisions;
CREATE TRIGGER page_revisions_site_version_truncate AFTER TRUNCATE ON page_revisions
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('site');

-- Who a session is and what its member may see (findSession, viewerOf).
DROP TRIGGER IF EXISTS sessions_access_version ON sessions;
CREATE TRIGGER sessions_access_version
  AFTER DELETE OR UPDATE OF token_hash, account_id, expires_at, ended_at ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS accounts_access_version ON accounts;
CREATE TRIGGER accounts_access_version
  AFTER DELETE OR UPDATE OF member_id, disabled_at, must_change_password ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS members_access_version ON members;
CREATE TRIGGER members_access_version
  AFTER DELETE OR UPDATE OF name, status, tier_key, deleted_at ON members
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS role_assignments_access_version ON role_assignments;
CREATE TRIGGER role_assignments_access_version
  AFTER INSERT OR UPDATE OR DELETE ON role_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS committee_memberships_access_version ON committee_memberships;
CREATE TRIGGER committee_memberships_access_version
  AFTER INSERT OR UPDATE OR DELETE ON committee_memberships
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS sessions_access_version_truncate ON sessions;
CREATE TRIGGER sessions_access_version_truncate AFTER TRUNCATE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS accounts_access_version_truncate ON accounts;
CREATE TRIGGER accounts_access_version_truncate AFTER TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS members_access_version_truncate ON members;
CREATE TRIGGER members_access_version_truncate AFTER TRUNCATE ON members
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS role_assignments_access_version_truncate ON role_assignments;
CREATE TRIGGER role_assignments_access_version_truncate AFTER TRUNCATE ON role_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
DROP TRIGGER IF EXISTS committee_memberships_access_version_truncate ON committee_memberships;
CREATE TRIGGER committee_memberships_access_version_truncate AFTER TRUNCATE ON committee_memberships
  FOR EACH STATEMENT EXECUTE FUNCTION clubos_bump_content_version('access');
