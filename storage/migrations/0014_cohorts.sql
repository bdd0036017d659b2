-- Approval cohorts: the requests that reach one owner within a short window share one message,
-- a list with a line per request, updated in place as more arrive.
CREATE TABLE cohorts (
    id          TEXT PRIMARY KEY,
    application TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    channel     TEXT,
    ts          TEXT
);
CREATE INDEX ix_cohorts_recipient ON cohorts (recipient, application, opened_at);

CREATE TABLE cohort_requests (
    cohort_id  TEXT NOT NULL REFERENCES cohorts (id),
    request_id TEXT NOT NULL REFERENCES requests (id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, request_id)
);
CREATE INDEX ix_cohort_requests_request ON cohort_requests (request_id);
