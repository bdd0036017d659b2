-- Approval policies: a request's risk tier, the approval stage it waits at, and the approvals
-- given so far. One row per request and approver: nobody counts twice, at any stage.
ALTER TABLE requests ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE requests ADD COLUMN approval_stage INTEGER NOT NULL DEFAULT 0;
CREATE TABLE approval_votes (
    request_id TEXT NOT NULL REFERENCES requests (id),
    stage      INTEGER NOT NULL,
    approver   TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (request_id, approver)
);
CREATE INDEX ix_approval_votes_stage ON approval_votes (request_id, stage);
-- Break-glass: when an owner's review of access its holder approved themself is due; NULL once
-- confirmed or revoked. review_escalated: the admins were asked, because nobody reviewed in time.
ALTER TABLE requests ADD COLUMN review_due_at TEXT;
ALTER TABLE requests ADD COLUMN review_escalated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_requests_review ON requests (review_due_at);
