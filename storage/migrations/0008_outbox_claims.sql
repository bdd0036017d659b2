-- Outbox rows are claimed with a lease before they are sent, as due work is, so two processes
-- sharing the database never send one stored message twice.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
-- The queued updates of one message (channel + ts): only the newest is ever sent.
CREATE INDEX ix_outbox_message ON outbox (channel, ts);

-- A process's heartbeat: a second live process with the same worker id refuses to start.
CREATE TABLE workers (
    worker_id    TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    boot_id      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    leased_until TEXT NOT NULL
);
