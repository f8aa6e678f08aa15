-- The mode check of every action (W-8, D-3) moved into the statement that writes its audit entry
-- (functions/clubos_audit_write.sql): each action used to read system_state in a statement of its own
-- at the start of its transaction, a round trip per write, and the round trips to the database are
-- most of what a write costs the server (bench:registrations). clubos_audit_write gained p_effect: a
-- new signature, so the old one goes.
DROP FUNCTION IF EXISTS clubos_audit_write(boolean, text, text, text, text, text, jsonb, jsonb, text, text);
