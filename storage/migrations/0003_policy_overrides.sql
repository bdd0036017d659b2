-- What admins made requestable (or stopped offering) from Slack, on top of the policy file.
-- One row per application, kind and name; ``aliases`` are the other names the org gives the
-- same record (a label), so a policy that names it by its label is overridden too.
CREATE TABLE policy_overrides (
    application TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    aliases     TEXT NOT NULL DEFAULT '[]',
    requestable INTEGER NOT NULL CHECK (requestable IN (0, 1)),
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    PRIMARY KEY (application, kind, name)
);

-- Who has the App Home tab published (so changes republish it), and where an admin was in
-- the catalog pages.
CREATE TABLE home_tabs (
    user_id      TEXT PRIMARY KEY,
    opened_at    TEXT NOT NULL,
    application  TEXT,
    catalog_kind TEXT,
    catalog_page INTEGER NOT NULL DEFAULT 0
);
