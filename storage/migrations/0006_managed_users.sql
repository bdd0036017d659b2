-- Salesforce users the bot manages: created by it, or adopted (with the baseline they had).
-- Every change to a grant of the user bumps ``wanted_gen``; the converger records the
-- generation it brought Salesforce to in ``converged_gen``, so a user is dirty while they differ.
CREATE TABLE managed_users (
    username        TEXT PRIMARY KEY,
    sf_user_id      TEXT UNIQUE,
    subject_id      TEXT NOT NULL,
    origin          TEXT NOT NULL CHECK (origin IN ('pending', 'created', 'adopted')),
    baseline        TEXT,
    added           TEXT NOT NULL DEFAULT '[]',
    frozen_by_bot   INTEGER NOT NULL DEFAULT 0,
    create_sent_at  TEXT,
    wanted_gen      INTEGER NOT NULL DEFAULT 1,
    converged_gen   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    claimed_until   TEXT,
    claimed_by      TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX ix_managed_dirty ON managed_users (next_attempt_at) WHERE wanted_gen > converged_gen;
CREATE INDEX ix_requests_username ON requests (sf_username COLLATE NOCASE);
-- Users provisioned before this table existed were the bot's own to manage (created or taken
-- over by it): they start as created, converged, with no assignment known to be the bot's.
INSERT OR IGNORE INTO managed_users
    (username, sf_user_id, subject_id, origin, wanted_gen, converged_gen, created_at, updated_at)
SELECT lower(sf_username), max(sf_user_id), max(subject_id), 'created', 1, 1,
       min(created_at), max(updated_at)
FROM requests
WHERE kind = 'grant' AND sf_username IS NOT NULL AND sf_user_id IS NOT NULL
GROUP BY lower(sf_username);
