-- Tenants (sites) and their API keys; settings is JSON validated by the application.
CREATE TABLE sites (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id            UUID PRIMARY KEY,
    site_id       UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    prefix        TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,
    label         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

CREATE INDEX api_keys_site_id ON api_keys(site_id);
