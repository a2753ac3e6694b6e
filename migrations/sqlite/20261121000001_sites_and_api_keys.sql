-- Tenants (sites) and their API keys. Ids are UUIDs (stored as 16-byte BLOBs by sqlx),
-- timestamps are RFC 3339 text, settings is JSON text validated by the application.
CREATE TABLE sites (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY NOT NULL,
    site_id       BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    prefix        TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,
    label         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE INDEX api_keys_site_id ON api_keys(site_id);
