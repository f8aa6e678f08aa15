-- Site search and the leak audit (G08).
-- Search: every revision's title and summary and every block's words are kept as a tsvector, per block,
-- so a search can tell which blocks matched and the audience decision (src/domains/pages/audience.ts)
-- drops a match in a block the viewer may not see before anything is shown. The 'simple' configuration
-- works alike on PostgreSQL and PGlite and does not guess at the club's language.
ALTER TABLE page_revisions ADD COLUMN search_vector tsvector
  GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, title || ' ' || summary)) STORED;
ALTER TABLE page_blocks ADD COLUMN search_vector tsvector
  GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
    coalesce(data ->> 'text', '') || ' ' || coalesce(data ->> 'markdown', '') || ' ' ||
    coalesce(data ->> 'label', '') || ' ' || coalesce(data ->> 'heading', ''))) STORED;
CREATE INDEX page_revisions_search ON page_revisions USING gin (search_vector) WHERE frozen;
CREATE INDEX page_blocks_search ON page_blocks USING gin (search_vector);

-- Each run of the leak audit (`clubos pages leak-audit` and the scheduled job): what it rendered and what
-- it found. The newest row is the detection signal (clubos guarantees, /admin/system, /metrics).
CREATE TABLE page_leak_audits (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  ran_at timestamptz NOT NULL DEFAULT now(),
  ran_by text NOT NULL CHECK (ran_by ~ '^(member|operator|system):.+'),
  viewers integer NOT NULL CHECK (viewers >= 0),
  responses integer NOT NULL CHECK (responses >= 0),
  findings integer NOT NULL CHECK (findings >= 0),
  -- The findings themselves (at most a sample), as the report prints them.
  report jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX page_leak_audits_ran_at ON page_leak_audits (ran_at DESC);
