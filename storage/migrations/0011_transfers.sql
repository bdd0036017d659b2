-- Work handed from a leaving Salesforce user to a successor. ``progress`` holds, per object
-- (or approvals, reports), the Bulk API job in flight and what moved or was refused, so a
-- restarted process looks at the same job again instead of sending the records twice.
-- ``channel``/``thread_ts``: the message it was started from when that is not an escalation
-- (the offboarding summary), under which its progress is shown.
CREATE TABLE transfers (
    id             TEXT PRIMARY KEY,
    revocation_id  TEXT,
    username       TEXT NOT NULL,
    from_user_id   TEXT NOT NULL,
    to_user_id     TEXT NOT NULL,
    to_slack_id    TEXT,
    objects        TEXT NOT NULL,
    progress       TEXT NOT NULL DEFAULT '{}',
    job_ids        TEXT NOT NULL DEFAULT '[]',
    state          TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    moved          INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    decided_by     TEXT NOT NULL,
    channel        TEXT,
    thread_ts      TEXT,
    claimed_by     TEXT,
    claimed_until  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX ix_transfers_state ON transfers (state);
CREATE INDEX ix_transfers_revocation ON transfers (revocation_id);
