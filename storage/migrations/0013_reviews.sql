-- Access review campaigns: asked for (opening), sent to the reviewers (open), closed.
-- Everything a campaign knows is here, so a restart mid-campaign loses nothing.
CREATE TABLE review_campaigns (
    id            TEXT PRIMARY KEY,
    application   TEXT NOT NULL,
    scope         TEXT NOT NULL,
    unanswered    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('opening', 'open', 'closed')),
    started_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    opened_at     TEXT,
    deadline_at   TEXT,
    remind_at     TEXT,
    reminded_at   TEXT,
    closed_at     TEXT,
    claimed_until TEXT,
    claimed_by    TEXT
);
CREATE INDEX ix_review_campaigns_state ON review_campaigns (state, application);

-- One line to review: a grant, or a user no grant explains (grant_id NULL until kept).
CREATE TABLE review_items (
    id            TEXT PRIMARY KEY,
    campaign_id   TEXT NOT NULL REFERENCES review_campaigns (id),
    position      INTEGER NOT NULL,
    grant_id      TEXT,
    drift         INTEGER NOT NULL DEFAULT 0,
    sf_user_id    TEXT,
    username      TEXT NOT NULL,
    subject_id    TEXT,
    subject_name  TEXT NOT NULL DEFAULT '',
    holds         TEXT NOT NULL,
    since         TEXT,
    approved_by   TEXT,
    last_login    TEXT,
    reviewer      TEXT NOT NULL,
    decision      TEXT CHECK (decision IN ('keep', 'revoke')),
    decided_by    TEXT,
    decided_at    TEXT,
    revocation_id TEXT,
    effect        TEXT,
    outcome       TEXT,
    UNIQUE (campaign_id, position)
);
CREATE INDEX ix_review_items_reviewer ON review_items (campaign_id, reviewer, position);
CREATE INDEX ix_review_items_revocation ON review_items (revocation_id);

-- Each reviewer's one message of a campaign (ts NULL until Slack took it) and its page.
CREATE TABLE review_messages (
    campaign_id TEXT NOT NULL REFERENCES review_campaigns (id),
    reviewer    TEXT NOT NULL,
    channel     TEXT,
    ts          TEXT,
    page        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, reviewer)
);
