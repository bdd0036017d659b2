-- Requests: grants and revocations, one row each; every change is a compare-and-set on state.
CREATE TABLE requests (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('grant', 'revoke')),
    application        TEXT NOT NULL,
    state              TEXT NOT NULL,
    requester_id       TEXT NOT NULL,
    subject_id         TEXT NOT NULL,
    subject_email      TEXT NOT NULL DEFAULT '',
    subject_name       TEXT NOT NULL DEFAULT '',
    license            TEXT,
    profile            TEXT,
    role               TEXT,
    permission_sets    TEXT NOT NULL DEFAULT '[]',
    duration_days      INTEGER,
    reason             TEXT NOT NULL DEFAULT '',
    grant_id           TEXT REFERENCES requests (id),
    decided_by         TEXT,
    decided_at         TEXT,
    decision_note      TEXT,
    sf_user_id         TEXT,
    sf_username        TEXT,
    username_override  TEXT,
    needs_admin_reason TEXT,
    last_error         TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT,
    claimed_until      TEXT,
    claimed_by         TEXT,
    expires_at         TEXT,
    reminders_sent     INTEGER NOT NULL DEFAULT 0,
    idempotency_key    TEXT UNIQUE,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_requests_due ON requests (state, next_attempt_at);
CREATE INDEX ix_requests_expiry ON requests (state, expires_at);
CREATE INDEX ix_requests_subject ON requests (subject_id, state);
CREATE INDEX ix_requests_grant ON requests (grant_id);

-- Slack messages posted about a request, so they can be updated in place later.
CREATE TABLE messages (
    request_id TEXT NOT NULL REFERENCES requests (id),
    purpose    TEXT NOT NULL,
    channel    TEXT NOT NULL,
    ts         TEXT NOT NULL,
    recipient  TEXT,
    PRIMARY KEY (request_id, purpose, channel)
);

-- Append-only, hash-chained audit log: triggers refuse any UPDATE or DELETE.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    request_id TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT NOT NULL DEFAULT '{}',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE
);
CREATE INDEX ix_audit_request ON audit_log (request_id);
CREATE INDEX ix_audit_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Slack event ids already handled (Slack retries deliver the same event_id again).
CREATE TABLE processed_events (
    event_id TEXT PRIMARY KEY,
    seen_at  TEXT NOT NULL
);

-- The last catalog read from Salesforce, as JSON, with when it was read.
CREATE TABLE catalog_cache (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    body         TEXT NOT NULL,
    refreshed_at TEXT NOT NULL
);

-- Named leases for singleton jobs (catalog refresh, reconciliation) shared by several processes.
CREATE TABLE job_leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    leased_until  TEXT NOT NULL,
    last_run_at   TEXT
);
