-- Member imports: durable apply progress and retention of their personal data.
--
-- Progress: rows_done counts the plan's rows finished in order. A created or updated row moves it in the
-- row's own transaction, so it can never claim a row whose change was lost, nor miss one that was kept;
-- a row refused as a conflict or a failure is kept in row_problems. applier names the run applying the
-- import: a resumed run takes it over, and a run that lost it can no longer move rows_done, so two
-- appliers never apply the same row.
--
-- Retention (data minimisation): after CLUBOS_IMPORT_RETENTION_DAYS the per-row detail (names, emails,
-- values) is removed from plan, result and row_problems; the summary stays (file name, hash, author,
-- times, status, counts). A dry run never confirmed by then becomes 'expired'.

ALTER TABLE member_imports
  ADD COLUMN rows_done integer NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
  ADD COLUMN row_problems jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(row_problems) = 'array'),
  ADD COLUMN applier uuid,
  ADD COLUMN purged_at timestamptz;

ALTER TABLE member_imports DROP CONSTRAINT member_imports_status_check;
ALTER TABLE member_imports
  ADD CONSTRAINT member_imports_status_check
    CHECK (status IN ('planned', 'applying', 'applied', 'expired')),
  ADD CONSTRAINT member_imports_expired_is_purged CHECK (status <> 'expired' OR purged_at IS NOT NULL),
  ADD CONSTRAINT member_imports_purged_has_no_rows CHECK (
    purged_at IS NULL OR (
      jsonb_array_length(plan -> 'rows') = 0
      AND (result IS NULL OR jsonb_array_length(result -> 'rows') = 0)
      AND row_problems = '[]'::jsonb
    )
  );

-- The retention job looks for imports not yet purged, oldest first.
CREATE INDEX member_imports_unpurged ON member_imports (created_at) WHERE purged_at IS NULL;
