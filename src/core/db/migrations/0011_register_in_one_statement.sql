-- Registration as one statement (functions/clubos_register.sql), with the audit and outbox writes
-- callable from SQL (functions/clubos_audit_write.sql, functions/clubos_outbox_write.sql).
-- clubos_take_place gained the caller's registration id and the event version, and lost the member
-- and event details it returned: a new signature, so the old one goes.
DROP FUNCTION IF EXISTS clubos_take_place(uuid, uuid, text[]);
