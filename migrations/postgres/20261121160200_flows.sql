-- Per-site call flows. Every upload is a new immutable version; at most one version of a
-- flow is active (the one calls run). Rollback = activate an older version.
CREATE TABLE flow_versions (
    site_id     UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    tests       JSONB,
    active      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, name, version)
);
