-- The progress of each job's latest run (src/core/job-progress.ts): written by the scheduler while a
-- job runs, in whichever process runs it, so the operator page of any server shows a running backup or
-- drill and how far it is. One row per job, replaced by its next run; a run whose row has not been
-- touched for a minute is no longer running (its process stopped).
CREATE TABLE job_progress (
  job text PRIMARY KEY CHECK (length(btrim(job)) > 0),
  run_id text NOT NULL,
  triggered_by text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  step text NOT NULL DEFAULT '',
  finished_at timestamptz,
  outcome text CHECK (outcome IN ('ok', 'failed')),
  detail text,
  CHECK ((finished_at IS NULL) = (outcome IS NULL))
);
