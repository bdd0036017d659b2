-- INSERT OR REPLACE removes the row it collides with without firing the delete trigger
-- (SQLite fires delete triggers on REPLACE only with recursive_triggers on), so it could
-- rewrite history past audit_log_no_delete. An insert may only add a new row at the end.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN (NEW.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq))
    OR EXISTS (SELECT 1 FROM audit_log WHERE hash = NEW.hash)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
