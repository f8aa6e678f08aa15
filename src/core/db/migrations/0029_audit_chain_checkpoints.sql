-- How far the audit chain has been verified (issue 8, bench:scan): after a clean check of the chain
-- (every entry re-hashed from the start, or every entry after the previous checkpoint), the head it
-- covered. The scheduled invariant scan re-hashes only entries sealed after the newest checkpoint, and
-- the whole chain again once the newest full checkpoint is a day old; `clubos invariants check`,
-- `clubos audit verify` and drills always verify the whole chain. The links of the whole chain, entries
-- inserted below the head, sealed entries that are gone and every checkpoint's head are checked on
-- every scan (cheap): the link from the checkpoint on, sealed entries gone or inserted anywhere, every
-- checkpoint's head, and the number of sealed entries up to the newest one (entries). What only a full
-- check finds is an entry older than the newest checkpoint edited in place.
CREATE TABLE audit_chain_checkpoints (
  id bigserial PRIMARY KEY,
  seq bigint NOT NULL CHECK (seq > 0),
  chain_hash text NOT NULL,
  -- How many sealed entries the chain held up to seq: a sealed entry removed before the checkpoint
  -- together with its seal changes it.
  entries bigint NOT NULL CHECK (entries > 0),
  full_scan boolean NOT NULL,
  verified_at timestamptz NOT NULL DEFAULT now(),
  verified_by text NOT NULL
);
CREATE INDEX audit_chain_checkpoints_seq ON audit_chain_checkpoints (seq DESC);
