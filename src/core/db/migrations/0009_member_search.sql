-- Member search ("part of a name or email", LIKE '%...%') used a sequential scan: ~200 ms at 100,000
-- members. Trigram indexes answer it from the index for any search of three characters or more.
-- pg_trgm ships with PostgreSQL (contrib) and with PGlite; it is a trusted extension, so a database
-- owner without superuser rights can create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX members_name_trgm ON members USING gin (lower(name) gin_trgm_ops);
CREATE INDEX members_email_trgm ON members USING gin (lower(email) gin_trgm_ops);
