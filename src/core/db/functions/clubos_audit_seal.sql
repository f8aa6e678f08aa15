-- clubos:after 0001_core
-- Seals every entry up to the horizon that is not sealed yet, in seq order, into the hash chain
-- (audit_chain; see src/core/audit-chain.ts for why after commit). Returns how many.
CREATE OR REPLACE FUNCTION clubos_audit_seal(horizon bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  prev text;
  e audit_log;
  h text;
  n integer := 0;
BEGIN
  SELECT chain_hash INTO prev FROM audit_chain ORDER BY seq DESC LIMIT 1;
  prev := COALESCE(prev, repeat('0', 64));
  FOR e IN
    SELECT * FROM audit_log
    WHERE seq <= horizon AND seq > COALESCE((SELECT max(seq) FROM audit_chain), 0)
    ORDER BY seq
  LOOP
    h := clubos_audit_entry_hash(e);
    prev := encode(sha256(convert_to(prev || h, 'UTF8')), 'hex');
    INSERT INTO audit_chain (seq, entry_hash, chain_hash) VALUES (e.seq, h, prev);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
