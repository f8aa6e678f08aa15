-- clubos:after none
-- Append-only tables (the audit log, its chain, member status history) attach it in their own
-- migration to refuse UPDATE, DELETE and TRUNCATE; it references no table.
CREATE OR REPLACE FUNCTION clubos_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
