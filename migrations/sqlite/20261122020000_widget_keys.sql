-- Public widget keys: embedded in web pages (safe to publish), one per site, separate from the
-- secret API keys. Rotating replaces the row.
CREATE TABLE widget_keys (
    site_id     BLOB PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    key         TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);
