-- The lifecycle scheduler: when the "access ends soon" notice went out, and indexes for the
-- due-work queries (undecided requests by age, grants by Salesforce user for reconciliation).
ALTER TABLE requests ADD COLUMN expiry_warned_at TEXT;
CREATE INDEX ix_requests_age ON requests (state, created_at);
CREATE INDEX ix_requests_sf_user ON requests (sf_user_id);
