-- When a request last went to the owners. A request sent back to them (an admin changed it
-- beyond its approval, or completed it) waits its full time again; NULL means since created_at.
ALTER TABLE requests ADD COLUMN pending_since TEXT;
