-- Per-site call flows. Every upload is a new immutable version; at most one version of a
-- flow is active (the one calls run). Rollback = activate an older version.
CREATE TABLE flow_versions (
    site_id     BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    source      TEXT NOT NULL,
    tests       TEXT,
    active      BOOLEAN NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (site_id, name, version)
);
