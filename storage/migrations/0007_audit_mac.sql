-- Each audit row also carries an HMAC-SHA256 of its hash, keyed by a secret kept outside the
-- database (ACCESSBOT_AUDIT_KEY or the key file), so a chain rewritten with recomputed plain
-- hashes no longer verifies. Rows written before the key existed have none.
ALTER TABLE audit_log ADD COLUMN mac TEXT;

-- The key the log is chained with (by fingerprint, never the key) and the first row it signs.
CREATE TABLE audit_keys (
    fingerprint TEXT PRIMARY KEY,
    from_seq    INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TRIGGER audit_keys_no_update BEFORE UPDATE ON audit_keys
BEGIN
    SELECT RAISE(ABORT, 'audit_keys is append-only');
END;
CREATE TRIGGER audit_keys_no_delete BEFORE DELETE ON audit_keys
BEGIN
    SELECT RAISE(ABORT, 'audit_keys is append-only');
END;
