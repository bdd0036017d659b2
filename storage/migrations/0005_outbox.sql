-- Slack messages that could not be delivered yet; a job sends them again until Slack takes them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    method          TEXT NOT NULL CHECK (method IN ('chat.postMessage', 'chat.update')),
    channel         TEXT NOT NULL,
    ts              TEXT,
    thread_ts       TEXT,
    text            TEXT NOT NULL,
    blocks          TEXT NOT NULL DEFAULT '[]',
    request_id      TEXT,
    purpose         TEXT,
    recipient       TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    created_at      TEXT NOT NULL
);
CREATE INDEX ix_outbox_due ON outbox (state, next_attempt_at);
